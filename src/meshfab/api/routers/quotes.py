"""/v1/quotes: delivery offers for a configured product, honest about capacity, calendars and lanes."""

from __future__ import annotations

from fastapi import APIRouter

from meshfab.api.deps import PlatformDep, PrincipalDep
from meshfab.api.schemas import QuoteIn, QuoteOut
from meshfab.domain.principals import Role
from meshfab.services import promise
from meshfab.services.access import require_role

router = APIRouter(prefix="/v1/quotes", tags=["quotes"])


@router.post("", response_model=QuoteOut, response_model_exclude_none=True)
def create_quote(body: QuoteIn, platform: PlatformDep, principal: PrincipalDep) -> dict[str, object]:
    """Offers (at least the fastest and the cheapest), each valid for a few minutes; 409 when none exists."""
    require_role(principal, {Role.operator, Role.merchant}, "ask for quotes")
    quoted = promise.quote(platform, str(principal), body.template, body.options, body.quantity, body.ship_to.country)
    return {"offers": [promise.offer_view(q, reveal_factory=principal.is_operator) for q in quoted]}
