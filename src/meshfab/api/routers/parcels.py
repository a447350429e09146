"""/v1/parcels, order tracking and the service level."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from meshfab.api.deps import PlatformDep, PrincipalDep
from meshfab.domain.parcels import TrackingEvent
from meshfab.services import service_level, shipping

router = APIRouter(tags=["parcels"])


class BookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    carrier: str = Field(min_length=1, max_length=100)
    tracking_number: str = Field(min_length=1, max_length=64)


@router.get("/v1/factories/{factory_id}/parcels")
def factory_parcels(factory_id: str, platform: PlatformDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return shipping.factory_parcels(platform, principal, factory_id)


@router.post("/v1/parcels/{parcel_id}/booking")
def book(parcel_id: UUID, body: BookingIn, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
    """The `manual` carrier: the factory names the carrier that took the parcel and its tracking number."""
    return shipping.book_manual(platform, principal, parcel_id, body.carrier, body.tracking_number)


@router.post("/v1/parcels/{parcel_id}/events")
def record_event(
    parcel_id: UUID, body: TrackingEvent, platform: PlatformDep, principal: PrincipalDep
) -> dict[str, Any]:
    """A carrier milestone (handed_over … delivered, exception), in any order; duplicates are ignored."""
    return shipping.record_event(platform, principal, parcel_id, body)


@router.get("/v1/orders/{order_id}/tracking")
def tracking(order_id: UUID, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
    return shipping.order_tracking(platform, principal, order_id)


@router.get("/v1/service-level")
def get_service_level(
    platform: PlatformDep,
    principal: PrincipalDep,
    since: Annotated[AwareDatetime, Query()],
    until: Annotated[AwareDatetime, Query()],
) -> dict[str, Any]:
    return service_level.service_level(platform, principal, since, until)
