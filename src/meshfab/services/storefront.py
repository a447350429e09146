"""What a storefront shows next to each option: every value, whether it can still be chosen, and if not, why.

The configurator answers with the values still possible given the other choices. A buyer also wants to see
the values that are not possible and the reason (on hover), so for each option the choices are judged with
that option left open, and every impossible value is tried once to name the rule it would break.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshfab.domain.catalog import EnumOption, NumberOption, Template, TextOption
from meshfab.domain.errors import InvalidInput
from meshfab.engines.configurator import Configuration, configure
from meshfab.services.catalog import get_template
from meshfab.services.platform import Platform

DEAD_END = "no complete product can be made with this value and your other choices"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    enabled: bool
    reason: str = ""
    price_delta: int = 0


@dataclass(frozen=True)
class OptionView:
    key: str
    label: str
    kind: str
    required: bool
    value: Any = None
    choices: list[Choice] = field(default_factory=list)
    hint: str = ""
    minimum: Any = None
    maximum: Any = None
    step: Any = None
    max_length: int | None = None


@dataclass(frozen=True)
class ConfiguredPage:
    template: Template
    configuration: Configuration
    options: list[OptionView]


def _reason(template: Template, others: dict[str, Any], key: str, value: str, quantity: int) -> str:
    try:
        tried = configure(template, {**others, key: value}, quantity=quantity)
    except InvalidInput as exc:
        return exc.detail
    messages = [v.message for v in tried.violations]
    return " ".join(dict.fromkeys(messages)) or DEAD_END


def _title(value: str) -> str:
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


def _span(intervals: list[tuple[Any, Any]], unit: str = "") -> str:
    text = ", ".join(f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}" for lo, hi in intervals)
    return f"possible: {text} {unit}".strip() if intervals else "no value is possible with your other choices"


def configure_page(platform: Platform, key: str, options: dict[str, Any], quantity: int) -> ConfiguredPage:
    """The configuration of the choices so far, and a view of every option with its enabled values."""
    template = get_template(platform, key)
    configuration = configure(template, options, quantity=quantity)
    views = []
    for option in template.options:
        given = option.key in options
        others = {k: v for k, v in options.items() if k != option.key}
        domain = (configure(template, others, quantity=quantity) if given else configuration).domains[option.key]
        label = option.label or option.key.replace("_", " ").capitalize()
        current = options.get(option.key)
        if isinstance(option, EnumOption):
            choices = [
                Choice(
                    v.value,
                    v.label or _title(v.value),
                    v.value in domain.values,
                    "" if v.value in domain.values else _reason(template, others, option.key, v.value, quantity),
                    v.price_delta,
                )
                for v in option.values
            ]
            views.append(OptionView(option.key, label, "enum", option.required, current, choices))
        elif isinstance(option, NumberOption):
            views.append(
                OptionView(
                    option.key,
                    f"{label} ({option.unit})",
                    "number",
                    option.required,
                    current,
                    hint=_span(domain.intervals, option.unit),
                    minimum=option.min,
                    maximum=option.max,
                    step=option.step,
                )
            )
        elif isinstance(option, TextOption):
            hint = f"up to {option.max_length} characters ({option.charset.replace('_', ' ')})"
            if domain.intervals and domain.intervals[-1][1] < option.max_length:
                hint = f"up to {domain.intervals[-1][1]:g} characters with your other choices ({option.charset})"
            views.append(
                OptionView(option.key, label, "text", option.required, current, hint=hint, max_length=option.max_length)
            )
        else:
            formats = ", ".join(getattr(option, "formats", []))
            views.append(OptionView(option.key, label, "artwork", option.required, current, hint=f"a file: {formats}"))
    return ConfiguredPage(template, configuration, views)
