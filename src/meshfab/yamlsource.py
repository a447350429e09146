"""YAML documents that remember where each value came from, so validation errors name the line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from meshfab.domain.errors import InvalidInput, Problem


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """1-based line of the deepest node the path reaches (the nearest existing parent if a key is missing)."""
        node = self.root
        line = None if node is None else node.start_mark.line + 1
        for part in loc:
            child = _child(node, part)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line

    def located(self, error: ValidationError, prefix: Sequence[str | int] = ()) -> list[Problem]:
        problems = []
        for err in error.errors():
            loc = (*prefix, *err["loc"])
            line = self.line_of(loc)
            where = f"{self.path.name}:{line}" if line else self.path.name
            problems.append(Problem(tuple(loc), f"{where}: {err['msg']}"))
        return problems


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]
    return None


def read_yaml(path: Path) -> YamlDocument:
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InvalidInput(f"{path.name}{line}: not valid YAML", [Problem((path.name,), str(exc))]) from exc
    return YamlDocument(path, data, root)
