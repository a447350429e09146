"""/v1/webhooks: endpoints that receive the caller's events (Standard Webhooks)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from meshfab.api.deps import PlatformDep, PrincipalDep
from meshfab.services import webhooks

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2000)
    event_types: list[str] = Field(default_factory=list, max_length=50, description="empty: every event")
    allow_private: bool = Field(default=False, description="operator only: deliver to a private address")


@router.post("/endpoints", status_code=201)
def register(body: EndpointIn, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
    """Register an endpoint; the answer carries its signing secret, shown this once."""
    return webhooks.register(platform, principal, body.url, body.event_types, body.allow_private)


@router.get("/endpoints")
def list_endpoints(platform: PlatformDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return webhooks.list_endpoints(platform, principal)
