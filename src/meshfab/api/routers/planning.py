"""/v1/planning: the operator re-plans the network on demand and reads past runs."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from meshfab.api.deps import PlatformDep, PrincipalDep
from meshfab.services import network
from meshfab.services.access import require_operator

router = APIRouter(prefix="/v1/planning", tags=["planning"])


class ReplanIn(BaseModel):
    model_config = {"extra": "forbid"}
    time_limit: float | None = Field(default=None, gt=0, le=300)
    seed: int = Field(default=0, ge=0)


@router.post("/replan", status_code=201)
def replan(platform: PlatformDep, principal: PrincipalDep, body: ReplanIn | None = None) -> dict[str, Any]:
    """Re-route every unstarted line now; answers with the stored run."""
    require_operator(principal, "re-plan the network")
    body = body or ReplanIn()
    run_id = network.replan_network(platform, trigger="operator", time_limit=body.time_limit, seed=body.seed)
    return network.get_run(platform, principal, run_id)


@router.get("/runs/{run_id}")
def get_run(run_id: UUID, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
    """Inputs size, cost split before and after, bound, gap, moves, unsaved lines, duration."""
    return network.get_run(platform, principal, run_id)
