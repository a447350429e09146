"""API keys: `mf_<prefix>_<secret>`, stored as SHA-256 of the secret, bound to one principal.

The secret has 256 bits of entropy, so a fast hash is enough (a slow password hash protects guessable
secrets, which these are not); the prefix finds the row without scanning.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select

from meshfab.domain.errors import NotFound
from meshfab.domain.principals import Principal, Role
from meshfab.services.platform import Platform
from meshfab.store.tables import ApiKeyRow, FactoryRow, MerchantRow


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(platform: Platform, principal: Principal, *, label: str = "") -> str:
    """Create a key and return it in clear: the only moment it is ever visible."""
    with platform.uow() as uow:
        if principal.role is Role.factory and uow.session.get(FactoryRow, principal.subject) is None:
            raise NotFound(f"factory {principal.subject!r} does not exist")
        if principal.role is Role.merchant and uow.session.get(MerchantRow, principal.subject) is None:
            raise NotFound(f"merchant {principal.subject!r} does not exist")
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        uow.session.add(ApiKeyRow(prefix=prefix, secret_hash=_hash(secret), principal=str(principal), label=label))
        uow.commit()
    return f"mf_{prefix}_{secret}"


def authenticate(platform: Platform, token: str) -> Principal | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "mf" or not parts[1] or not parts[2]:
        return None
    _, prefix, secret = parts
    with platform.uow() as uow:
        found = uow.session.execute(
            select(ApiKeyRow.secret_hash, ApiKeyRow.principal).where(
                ApiKeyRow.prefix == prefix, ApiKeyRow.revoked_at.is_(None)
            )
        ).first()
    if found is None or not hmac.compare_digest(found.secret_hash, _hash(secret)):
        return None
    return Principal.parse(found.principal)
