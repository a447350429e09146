"""Configurations of stored order lines, worked out once per distinct product in a planning read.

A planner reads every open line of a factory or of the whole mesh, and those lines repeat a few templates,
options and quantities: configuring is what such a read spends its time on, and a configuration depends on
nothing but those three, so each distinct one is configured once.
"""

from __future__ import annotations

import json
from typing import Any

from meshfab.engines.configurator import Configuration, configure
from meshfab.store.repositories import TemplateRepository


class Configurations:
    """`configure` for stored lines, remembered per (template, options, quantity) for one read."""

    def __init__(self, templates: TemplateRepository) -> None:
        self.templates = templates
        self._known: dict[tuple[str, str, int], Configuration | None] = {}

    def of(self, template_key: str, options: dict[str, Any], quantity: int) -> Configuration | None:
        """The line's configuration, or None when its template is gone."""
        key = (template_key, json.dumps(options, sort_keys=True), quantity)
        if key not in self._known:
            template = self.templates.get(template_key)
            self._known[key] = None if template is None else configure(template, options, quantity=quantity)
        return self._known[key]
