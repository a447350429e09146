"""Errors the business rules raise.

They carry no HTTP knowledge: the API maps each class to a status and an RFC 9457 problem type, so
the same rule reads the same whether it is hit from a request, the CLI or the digital twin.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located by a JSON path so a client can point at the field."""

    loc: tuple[str | int, ...]
    msg: str


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


@dataclass
class InvalidInput(DomainError):
    """Input that breaks the model; lists every problem, not only the first, so one round trip fixes all."""

    detail: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    kind = "invalid-input"
