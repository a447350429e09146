"""Factory schedules and shop-floor progress."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from meshfab.api.deps import PlatformDep, PrincipalDep
from meshfab.domain.work import Progress
from meshfab.services import scheduling
from meshfab.services.access import require_factory_access

router = APIRouter(tags=["scheduling"])


class ProgressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: Progress
    quantity: int | None = Field(default=None, ge=1, le=1_000_000, description="scrapped units (scrap only)")


@router.get("/v1/factories/{factory_id}/schedule")
def get_schedule(factory_id: str, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
    """Per machine, the timeline of operations (lot, lines, start, end, setup) and each line's lateness."""
    return scheduling.get_schedule(platform, principal, factory_id)


@router.post("/v1/factories/{factory_id}/schedule")
def reschedule(factory_id: str, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
    """Schedule the factory now (the operator, or the factory itself)."""
    require_factory_access(principal, factory_id)
    return scheduling.schedule_factory(platform, factory_id)


@router.post("/v1/work-orders/{work_order_id}/progress")
def progress(work_order_id: UUID, body: ProgressIn, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
    """Start, finish or scrap (with a quantity); scrap creates replacement work at once."""
    return scheduling.report_progress(platform, principal, work_order_id, body.event, body.quantity)
