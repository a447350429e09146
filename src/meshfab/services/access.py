"""Who may see and do what. One place, so the authorisation matrix is read here and tested once.

An object the caller may not know about is `NotFound` (404), never `Forbidden`: a merchant probing order
ids learns nothing. A kind of action the caller's role may never take is `Forbidden` (403).
"""

from __future__ import annotations

from meshfab.domain.errors import Forbidden, NotFound
from meshfab.domain.principals import Principal, Role


def require_operator(principal: Principal, action: str) -> None:
    if not principal.is_operator:
        raise Forbidden(f"only the operator may {action}")


def require_role(principal: Principal, roles: set[Role], action: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"a {principal.role} key may not {action}")


def require_factory_access(principal: Principal, factory_id: str) -> None:
    """The operator sees every factory; a factory only itself; merchants never see factory identities."""
    require_role(principal, {Role.operator, Role.factory}, "see factories")
    if principal.role is Role.factory and principal.subject != factory_id:
        raise NotFound(f"factory {factory_id!r} not found")


def require_merchant_access(principal: Principal, merchant_id: str, what: str) -> None:
    require_role(principal, {Role.operator, Role.merchant}, "see orders")
    if principal.role is Role.merchant and principal.subject != merchant_id:
        raise NotFound(f"{what} not found")
