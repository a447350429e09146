"""/v1/factories and /v1/lanes: the operator manages the mesh; a factory sees and updates only itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from meshfab.api.deps import IdempotencyKey, PlatformDep, PrincipalDep, respond_once
from meshfab.api.schemas import ClosureIn, Created, FactoryOut, LaneOut, StatusIn, WorkOrderOut
from meshfab.domain.factories import Factory
from meshfab.domain.geo import Country
from meshfab.domain.lanes import Lane
from meshfab.services import factories

router = APIRouter(tags=["factories"])


@router.get("/v1/factories", response_model=list[FactoryOut])
def list_factories(platform: PlatformDep, principal: PrincipalDep) -> list[FactoryOut]:
    return [FactoryOut.of(f) for f in factories.list_factories(platform, principal)]


@router.post("/v1/factories", status_code=201, response_model=Created)
def put_factory(
    body: Factory,
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    def work() -> tuple[int, object]:
        created = factories.put_factory(platform, principal, body)
        return (201 if created else 200), {"id": body.id, "created": created}

    return respond_once(request, platform, principal, key, body, work)


@router.get("/v1/factories/{factory_id}", response_model=FactoryOut)
def get_factory(factory_id: str, platform: PlatformDep, principal: PrincipalDep) -> FactoryOut:
    return FactoryOut.of(factories.get_factory(platform, principal, factory_id))


@router.post("/v1/factories/{factory_id}/status", response_model=FactoryOut)
def set_status(factory_id: str, body: StatusIn, platform: PlatformDep, principal: PrincipalDep) -> FactoryOut:
    return FactoryOut.of(factories.set_status(platform, principal, factory_id, body.status))


@router.post("/v1/factories/{factory_id}/closures")
def close_day(factory_id: str, body: ClosureIn, platform: PlatformDep, principal: PrincipalDep) -> dict[str, object]:
    """Close a local day (holiday, breakdown): capacity drops to zero and promises planned on it go at risk."""
    flagged = factories.close_day(platform, principal, factory_id, body.day)
    return {"factory_id": factory_id, "day": body.day, "promises_at_risk": flagged}


@router.get("/v1/factories/{factory_id}/work-orders", response_model=list[WorkOrderOut])
def work_orders(factory_id: str, platform: PlatformDep, principal: PrincipalDep) -> list[WorkOrderOut]:
    return [WorkOrderOut.of(w) for w in factories.work_orders(platform, principal, factory_id)]


@router.get("/v1/lanes", response_model=list[LaneOut])
def list_lanes(
    platform: PlatformDep,
    principal: PrincipalDep,
    destination_country: Annotated[Country | None, Query()] = None,
) -> list[LaneOut]:
    return [LaneOut.of(lane) for lane in factories.list_lanes(platform, destination_country)]


@router.post("/v1/lanes", status_code=201, response_model=Created)
def put_lane(
    body: Lane, request: Request, platform: PlatformDep, principal: PrincipalDep, key: IdempotencyKey = None
) -> JSONResponse:
    def work() -> tuple[int, object]:
        created = factories.put_lane(platform, principal, body)
        return (201 if created else 200), {"id": body.id, "created": created}

    return respond_once(request, platform, principal, key, body, work)
