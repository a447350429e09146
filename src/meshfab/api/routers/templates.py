"""/v1/templates: read by every key holder, written by the operator, configured on every click."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from meshfab.api.deps import IdempotencyKey, PlatformDep, PrincipalDep, respond_once
from meshfab.api.schemas import ConfigureIn, Created
from meshfab.domain.catalog import Template
from meshfab.services import catalog

router = APIRouter(prefix="/v1/templates", tags=["templates"])


@router.get("")
def list_templates(platform: PlatformDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", exclude_none=True) for t in catalog.list_templates(platform)]


@router.get("/{key}")
def get_template(key: str, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
    return catalog.get_template(platform, key).model_dump(mode="json", exclude_none=True)


@router.post("", status_code=201, response_model=Created)
def put_template(
    body: Template,
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    def work() -> tuple[int, object]:
        created = catalog.put_template(platform, principal, body)
        return (201 if created else 200), {"id": body.key, "created": created}

    return respond_once(request, platform, principal, key, body, work)


@router.post("/{key}/configure")
def configure(key: str, body: ConfigureIn, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
    result = catalog.configure_template(platform, key, body.options, body.quantity)
    return result.to_json()
