"""/v1/templates: read by every key holder, written by the operator, configured on every click."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from meshfab.api.deps import IdempotencyKey, PlatformDep, PrincipalDep, respond_once
from meshfab.api.schemas import ConfigureIn, TemplateSaved
from meshfab.engines.configurator import Configuration
from meshfab.services import catalog

router = APIRouter(prefix="/v1/templates", tags=["templates"])


@router.get("")
def list_templates(platform: PlatformDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", exclude_none=True) for t in catalog.list_templates(platform)]


@router.get("/{key}")
def get_template(key: str, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
    return catalog.get_template(platform, key).model_dump(mode="json", exclude_none=True)


@router.post("", status_code=201, response_model=TemplateSaved)
def put_template(
    document: Annotated[dict[str, Any], Body(description="a template document (see examples/yiwu/templates.yaml)")],
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Create or replace a template; every problem comes back with its JSON pointer, warnings with a 2xx."""

    def work() -> tuple[int, object]:
        saved = catalog.put_template(platform, principal, document)
        return (201 if saved.created else 200), TemplateSaved.of(saved).model_dump(mode="json")

    return respond_once(request, platform, principal, key, document, work)


@router.post("/{key}/configure", response_model=Configuration)
def configure(key: str, body: ConfigureIn, platform: PlatformDep, principal: PrincipalDep) -> Configuration:
    return catalog.configure_template(platform, key, body.options, body.quantity)
