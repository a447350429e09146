"""Errors raised by the template language and by configuration input checks.

Every problem carries a ``loc`` (a JSON path as a tuple of keys and indices) so that a YAML loader can
point at the offending line, and all problems are collected before raising: an author fixing a template
wants the whole list, not one error per round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    loc: Loc
    msg: str

    def __str__(self) -> str:
        path = ".".join(str(part) for part in self.loc) or "<template>"
        return f"{path}: {self.msg}"


class TemplateError(ValueError):
    """A template document that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid template ({len(self.problems)} problem(s)):\n{lines}")


class ConfigurationInputError(ValueError):
    """Choices that are not even well-formed (unknown option, wrong value type).

    Choices that are well-formed but not allowed (a size that does not exist, a sleeve out of range) are
    not errors: they come back as violations, because the storefront shows them to the buyer.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "; ".join(str(problem) for problem in self.problems)
        super().__init__(f"invalid configuration input: {lines}")
