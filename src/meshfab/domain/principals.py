"""Who is calling: every API key is bound to exactly one principal."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from meshfab.domain.errors import InvalidInput, Problem


class Role(StrEnum):
    operator = "operator"
    factory = "factory"
    merchant = "merchant"


@dataclass(frozen=True)
class Principal:
    role: Role
    subject: str | None = None

    @classmethod
    def parse(cls, text: str) -> Principal:
        """`operator`, `factory:<id>` or `merchant:<id>`."""
        role_text, _, subject = text.partition(":")
        try:
            role = Role(role_text)
        except ValueError:
            raise InvalidInput(
                f"unknown role {role_text!r}",
                [Problem(("role",), "use operator, factory:<id> or merchant:<id>")],
            ) from None
        if role is Role.operator and subject:
            raise InvalidInput("operator takes no id", [Problem(("role",), "write just 'operator'")])
        if role is not Role.operator and not subject:
            raise InvalidInput(f"{role} needs an id", [Problem(("role",), f"write '{role}:<id>'")])
        return cls(role, subject or None)

    def __str__(self) -> str:
        return self.role.value if self.subject is None else f"{self.role.value}:{self.subject}"

    @property
    def is_operator(self) -> bool:
        return self.role is Role.operator

    def is_factory(self, factory_id: str | None = None) -> bool:
        return self.role is Role.factory and (factory_id is None or self.subject == factory_id)

    def is_merchant(self, merchant_id: str | None = None) -> bool:
        return self.role is Role.merchant and (merchant_id is None or self.subject == merchant_id)
