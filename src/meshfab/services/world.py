"""Load a world (templates, factories, lanes, merchants) from a folder of YAML files.

Everything is validated before anything is written, and every problem is reported with its file and line,
so an operator fixes a whole file in one go. Loading is idempotent: ids that exist are updated in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from meshfab.domain.catalog import Template
from meshfab.domain.errors import InvalidInput, Problem
from meshfab.domain.factories import Factory
from meshfab.domain.lanes import Lane
from meshfab.domain.merchants import Merchant
from meshfab.services.catalog import checked_template
from meshfab.services.platform import Platform
from meshfab.yamlsource import YamlDocument, read_yaml

M = TypeVar("M", bound=BaseModel)
Parser = Callable[[Any], tuple[Any, list[str]]]


def _plain(model: type[BaseModel]) -> Parser:
    return lambda raw: (model.model_validate(raw), [])


FILES: dict[str, Parser] = {
    "templates": checked_template,
    "factories": _plain(Factory),
    "lanes": _plain(Lane),
    "merchants": _plain(Merchant),
}


@dataclass
class World:
    templates: list[Template] = field(default_factory=list)
    factories: list[Factory] = field(default_factory=list)
    lanes: list[Lane] = field(default_factory=list)
    merchants: list[Merchant] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_world(folder: Path) -> World:
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a folder", [Problem(("dir",), "give a folder of YAML files")])
    world = World()
    problems: list[Problem] = []
    for name, parse in FILES.items():
        path = folder / f"{name}.yaml"
        if not path.exists():
            continue
        doc = read_yaml(path)
        items, found = _parse_list(doc, name, parse, world.warnings)
        problems += found
        getattr(world, name).extend(items)
    problems += _cross_check(world)
    if problems:
        raise InvalidInput(f"{len(problems)} problem(s) in {folder.name}", problems)
    return world


def _parse_list(doc: YamlDocument, name: str, parse: Parser, warnings: list[str]) -> tuple[list[Any], list[Problem]]:
    data: Any = doc.data
    if not isinstance(data, dict) or not isinstance(data.get(name), list):
        return [], [Problem((name,), f"{doc.path.name}:1: expected a top-level list '{name}:'")]
    items, problems = [], []
    for i, raw in enumerate(data[name]):
        try:
            item, found = parse(raw)
            items.append(item)
            warnings += [f"{doc.path.name}:{doc.line_of((name, i))}: {w}" for w in found]
        except ValidationError as exc:
            problems += doc.located(exc, (name, i))
        except InvalidInput as exc:
            problems += [
                Problem((name, i, *p.loc), f"{doc.path.name}:{doc.line_of((name, i, *p.loc))}: {p.msg}")
                for p in exc.problems
            ]
    seen: set[str] = set()
    for i, item in enumerate(items):
        key = str(getattr(item, "id", getattr(item, "key", i)))
        if key in seen:
            problems.append(Problem((name, i), f"{doc.path.name}:{doc.line_of((name, i))}: duplicate id {key!r}"))
        seen.add(key)
    return items, problems


def _cross_check(world: World) -> list[Problem]:
    """References between files: every lane leaves a region that has factories."""
    regions = {f.location.region for f in world.factories}
    return [
        Problem(
            ("lanes", i, "origin_region"),
            f"lanes.yaml: lane {lane.id!r} leaves unknown region {lane.origin_region!r}",
        )
        for i, lane in enumerate(world.lanes)
        if world.factories and lane.origin_region not in regions
    ]


def load_world(platform: Platform, folder: Path) -> dict[str, int]:
    """Validate the folder, then write it in one transaction; returns counts per kind."""
    world = parse_world(folder)
    put: dict[str, Callable[[Any], bool]]
    with platform.uow() as uow:
        put = {
            "templates": uow.templates.put,
            "factories": uow.factories.put,
            "lanes": uow.lanes.put,
            "merchants": uow.merchants.put,
        }
        counts = {}
        for name in ("merchants", "templates", "factories", "lanes"):
            items = getattr(world, name)
            for item in items:
                put[name](item)
            uow.session.flush()
            counts[name] = len(items)
        uow.commit()
    return counts


def is_empty(platform: Platform) -> bool:
    with platform.uow() as uow:
        return not uow.factories.list() and not uow.templates.list()
