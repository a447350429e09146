"""Templates: the operator curates them; every key holder reads and configures them."""

from __future__ import annotations

from typing import Any

from meshfab.domain.catalog import Template
from meshfab.domain.errors import NotFound
from meshfab.domain.principals import Principal
from meshfab.engines.configurator import Configuration, configure
from meshfab.services.access import require_operator
from meshfab.services.platform import Platform


def list_templates(platform: Platform) -> list[Template]:
    with platform.uow() as uow:
        return uow.templates.list()


def get_template(platform: Platform, key: str) -> Template:
    with platform.uow() as uow:
        template = uow.templates.get(key)
    if template is None:
        raise NotFound(f"template {key!r} not found")
    return template


def put_template(platform: Platform, principal: Principal, template: Template) -> bool:
    require_operator(principal, "manage templates")
    with platform.uow() as uow:
        created = uow.templates.put(template)
        uow.commit()
    return created


def configure_template(platform: Platform, key: str, options: dict[str, Any], quantity: int) -> Configuration:
    return configure(get_template(platform, key), options, quantity=quantity)
