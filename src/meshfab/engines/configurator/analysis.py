"""Warnings that need all rules together: values that no valid configuration can ever use."""

from __future__ import annotations

from meshfab.domain.catalog import Template
from meshfab.engines.configurator.configure import compile_template
from meshfab.engines.configurator.solver import exact_domains


def template_warnings(template: Template) -> list[str]:
    """Dead values and a template with no valid configuration at all, with the option's JSON path."""
    comp, _ = compile_template(template)
    masks = exact_domains(comp, {})
    if not any(masks):
        return ["<template>: no configuration satisfies all rules together: nothing can be ordered"]
    warnings = []
    for index, (var, mask) in enumerate(zip(comp.vars, masks, strict=True)):
        dead = [var.values[i] for i in range(len(var.values)) if var.init >> i & 1 and not mask >> i & 1]
        if dead and var.kind == "enum":
            shown = ", ".join("(none)" if value is None else str(value) for value in dead)
            warnings.append(f"options.{index}: values of {var.key!r} no valid configuration can use: {shown}")
        elif dead:
            warnings.append(f"options.{index}: {len(dead)} value(s) of {var.key!r} can never be chosen")
    return warnings
