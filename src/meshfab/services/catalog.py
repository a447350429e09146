"""Templates: the operator curates them; every key holder reads and configures them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshfab.domain.catalog import Template, validate_template
from meshfab.domain.errors import NotFound
from meshfab.domain.principals import Principal
from meshfab.engines.configurator import Configuration, configure, template_warnings
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


@dataclass(frozen=True)
class SavedTemplate:
    key: str
    created: bool
    warnings: list[str]


def checked_template(document: dict[str, Any]) -> tuple[Template, list[str]]:
    """Every problem of a template document at once, plus the warnings only the whole rule set reveals."""
    template, warnings = validate_template(document)
    return template, warnings + template_warnings(template)


def put_template(platform: Platform, principal: Principal, document: dict[str, Any]) -> SavedTemplate:
    require_operator(principal, "manage templates")
    template, warnings = checked_template(document)
    with platform.uow() as uow:
        created = uow.templates.put(template)
        uow.commit()
    return SavedTemplate(template.key, created, warnings)


def configure_template(platform: Platform, key: str, options: dict[str, Any], quantity: int) -> Configuration:
    return configure(get_template(platform, key), options, quantity=quantity)
