"""Errors the business rules raise.

They carry no HTTP knowledge: the API maps each class to a status and an RFC 9457 problem type, so
the same rule reads the same whether it is hit from a request, the CLI or the digital twin.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located by a JSON path so a client can point at the field."""

    loc: tuple[str | int, ...]
    msg: str

    def __str__(self) -> str:
        path = ".".join(str(part) for part in self.loc) or "<root>"
        return f"{path}: {self.msg}"


class DomainError(Exception):
    """Base of every rule the platform refuses to break."""

    kind = "domain-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    kind = "not-found"


class Forbidden(DomainError):
    kind = "forbidden"


class Conflict(DomainError):
    kind = "conflict"


class IllegalTransition(Conflict):
    kind = "illegal-transition"


class InvalidInput(DomainError):
    """Input that breaks the model; lists every problem, not only the first, so one round trip fixes all."""

    kind = "invalid-input"

    def __init__(self, detail: str, problems: list[Problem] | None = None) -> None:
        super().__init__(detail)
        self.problems = list(problems or [])
