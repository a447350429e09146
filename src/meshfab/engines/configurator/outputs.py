"""Price, bill of materials, operations and weight of a configuration, from formulas compiled once.

Price rounding: the unit price (base + enum deltas + formulas, less the quantity break) is computed
exactly as a fraction, then rounded once, half up, to a whole minor unit; the total is that unit price
times the quantity. Running prices skip formulas whose options are not yet chosen and list them as pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from meshfab.domain.catalog import Template
from meshfab.domain.catalog_checks import parse_checked, scope_of
from meshfab.domain.catalog_errors import Problem, TemplateError
from meshfab.domain.expression_ast import names_in
from meshfab.domain.expression_eval import BoolFn, NumFn, bool_fn, num_fn, round_half_up
from meshfab.domain.expression_types import fraction_text
from meshfab.engines.configurator.results import MaterialLine, OperationLine, Price

ALWAYS: BoolFn = lambda env: True  # noqa: E731


@dataclass(frozen=True)
class _Formula:
    label: str
    amount: NumFn
    when: BoolFn
    needs: frozenset[str]


@dataclass(frozen=True)
class Outputs:
    template: Template
    price_formulas: list[_Formula]
    materials: list[_Formula]
    operations: list[tuple[_Formula, _Formula]]  # (setup minutes, run minutes) sharing ``when``
    weight: NumFn
    deltas: dict[str, dict[str, int]]


def compile_outputs(template: Template) -> Outputs:
    scope = scope_of(template)
    problems: list[Problem] = []
    options = set(scope.kinds)

    def formula(label: str, text: str, when: str | None, loc: tuple[str | int, ...]) -> _Formula:
        expr = parse_checked(text, scope, "num", (*loc, "amount"), problems)
        condition = parse_checked(when, scope, "bool", (*loc, "when"), problems) if when else None
        needs = (names_in(expr) if expr else set()) | (names_in(condition) if condition else set())
        return _Formula(
            label,
            num_fn(expr, scope) if expr else (lambda env: Fraction(0)),
            bool_fn(condition, scope) if condition else ALWAYS,
            frozenset(needs & options),
        )

    price = [
        formula(item.label, item.amount, item.when, ("price", "formulas", index))
        for index, item in enumerate(template.price.formulas)
    ]
    materials = [
        formula(item.material, item.quantity, item.when, ("materials", index))
        for index, item in enumerate(template.materials)
    ]
    operations = [
        (
            formula(op.capability, op.setup_minutes, op.when, ("operations", index)),
            formula(op.capability, op.run_minutes, op.when, ("operations", index)),
        )
        for index, op in enumerate(template.operations)
    ]
    weight = formula("weight", template.weight_grams, None, ("weight_grams",))
    if problems:
        raise TemplateError(problems)
    deltas = {
        option.key: {value.value: value.price_delta for value in option.values}
        for option in template.options
        if option.type == "enum"
    }
    return Outputs(template, price, materials, operations, weight.amount, deltas)


def price_of(out: Outputs, env: dict[str, Any], decided: set[str], quantity: int) -> Price:
    raw = Fraction(out.template.price.base)
    for key, deltas in out.deltas.items():
        if key in decided and env[key] is not None:
            raw += deltas[env[key]]
    pending = []
    for item in out.price_formulas:
        if item.needs <= decided:
            if item.when(env):
                raw += item.amount(env)
        else:
            pending.append(item.label)
    percent = Decimal(0)
    for step in out.template.price.quantity_breaks:
        if quantity >= step.min_quantity:
            percent = step.percent_off
    unit = max(0, round_half_up(raw * (100 - Fraction(percent)) / 100))
    currency = out.template.currency
    return Price(currency, quantity, unit, unit * quantity, str(percent), not pending, pending)


def _plain(value: Fraction, places: int = 6) -> float | int:
    if value.denominator == 1:
        return int(value)
    return round(float(value), places)


def bill_of_materials(out: Outputs, env: dict[str, Any], quantity: int) -> list[MaterialLine]:
    totals: dict[tuple[str, str], Fraction] = {}
    for item, model in zip(out.materials, out.template.materials, strict=True):
        if item.when(env):
            key = (model.material, model.unit)
            totals[key] = totals.get(key, Fraction(0)) + item.amount(env)
    return [
        MaterialLine(material, float(_plain(per_unit * quantity)), unit, float(_plain(per_unit)))
        for (material, unit), per_unit in totals.items()
    ]


def operations_of(out: Outputs, env: dict[str, Any]) -> list[OperationLine]:
    lines: list[OperationLine] = []
    for (setup, run), model in zip(out.operations, out.template.operations, strict=True):
        if not setup.when(env):
            continue
        parts = []
        for key in model.setup_by:
            value = env[key]
            shown = fraction_text(value) if isinstance(value, Fraction) else value
            parts.append(f"{key}={'none' if value is None else shown}")
        family = f"{model.capability}:{','.join(parts) if parts else 'standard'}"
        minutes = max(0, round_half_up(setup.amount(env)))
        run_minutes = _plain(max(Fraction(0), run.amount(env)), 4)
        lines.append(
            OperationLine(
                model.capability, family, minutes, run_minutes, len(lines) + 1, model.name or model.capability
            )
        )
    return lines


def weight_of(out: Outputs, env: dict[str, Any]) -> int:
    return max(0, round_half_up(out.weight(env)))
