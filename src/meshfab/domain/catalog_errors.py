"""Errors raised by the template language and by configuration input checks.

Every problem carries a ``loc`` (a JSON path as a tuple of keys and indices) so that a YAML loader can
point at the offending line, and all problems are collected before raising: an author fixing a template
wants the whole list, not one error per round trip. Both are ``InvalidInput``, so every entry point maps
them to the same 422 problem; both are also ``ValueError`` so pydantic validators may raise them.
"""

from __future__ import annotations

from meshfab.domain.errors import InvalidInput, Problem

Loc = tuple[str | int, ...]

__all__ = ["ConfigurationInputError", "Loc", "Problem", "TemplateError"]


class TemplateError(InvalidInput, ValueError):
    """A template document that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid template ({len(problems)} problem(s)):\n{lines}", list(problems))


class ConfigurationInputError(InvalidInput, ValueError):
    """Choices that are not even well-formed (unknown option, wrong value type).

    Choices that are well-formed but not allowed (a size that does not exist, a sleeve out of range) are
    not errors: they come back as violations, because the storefront shows them to the buyer.
    """

    def __init__(self, problems: list[Problem]) -> None:
        lines = "; ".join(str(problem) for problem in problems)
        super().__init__(f"invalid configuration input: {lines}", list(problems))
