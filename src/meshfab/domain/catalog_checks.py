"""Checks of a template that look across fields: names in rules and formulas, domains, duplicates.

All problems are collected (never only the first) with the JSON path of the field at fault. Warnings are
about rules that are legal but almost certainly mistakes: one that no choice of its own options can
satisfy (it makes the whole template unsellable) and one that nothing can violate (it does nothing).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from meshfab.domain.catalog_errors import Loc, Problem
from meshfab.domain.expression_ast import Expr, names_in
from meshfab.domain.expression_eval import bool_fn
from meshfab.domain.expression_types import Scope, check_expression
from meshfab.domain.expressions import ExpressionError, parse_expression

if TYPE_CHECKING:
    from meshfab.domain.catalog import Template

MAX_GRID = 2000
RULE_SCAN_LIMIT = 50_000  # rule-alone warnings are skipped for rules with more combinations than this


def scope_of(template: Template) -> Scope:
    kinds = {option.key: option.type for option in template.options}
    enum_values = {o.key: tuple(v.value for v in o.values) for o in template.options if o.type == "enum"}
    units = {o.key: o.unit for o in template.options if o.type == "number"}
    return Scope(kinds, enum_values, units)


def parse_checked(text: str, scope: Scope, want: str, loc: Loc, problems: list[Problem]) -> Expr | None:
    """Parse and type-check one expression, recording problems at ``loc``; None if it is unusable."""
    try:
        expr = parse_expression(text)
    except ExpressionError as error:
        problems.append(Problem(loc, f"{error.message} at position {error.pos + 1} in {text!r}"))
        return None
    errors = check_expression(expr, scope, want)
    for pos, message in errors:
        problems.append(Problem(loc, f"{message} at position {pos + 1} in {text!r}"))
    return None if errors else expr


def _check_options(template: Template, problems: list[Problem]) -> None:
    seen: set[str] = set()
    for index, option in enumerate(template.options):
        loc: Loc = ("options", index)
        if option.key in seen:
            problems.append(Problem((*loc, "key"), f"duplicate option key {option.key!r}"))
        seen.add(option.key)
        if option.type == "enum":
            values = [item.value for item in option.values]
            if not values:
                problems.append(Problem((*loc, "values"), f"empty domain: option {option.key!r} has no values"))
            for duplicate in sorted({v for v in values if values.count(v) > 1}):
                problems.append(Problem((*loc, "values"), f"duplicate value {duplicate!r}"))
            if option.default is not None and option.default not in values:
                problems.append(Problem((*loc, "default"), f"default {option.default!r} is not a value"))
        elif option.type == "number":
            _check_number(option, loc, problems)
        elif option.type == "text" and option.default is not None:
            if len(option.default) > option.max_length:
                problems.append(Problem((*loc, "default"), "default is longer than max_length"))
            if bad := option.bad_characters(option.default):
                problems.append(Problem((*loc, "default"), f"default has characters not allowed: {bad}"))


def _check_number(option: Any, loc: Loc, problems: list[Problem]) -> None:
    low, high, step = Fraction(option.min), Fraction(option.max), Fraction(option.step)
    if low > high:
        problems.append(Problem((*loc, "max"), f"empty domain: min {option.min} is above max {option.max}"))
        return
    if step <= 0:
        problems.append(Problem((*loc, "step"), "step must be positive"))
        return
    count = (high - low) / step
    if count.denominator != 1:
        problems.append(Problem((*loc, "max"), f"max {option.max} is not min plus a whole number of steps"))
    elif count + 1 > MAX_GRID:
        problems.append(Problem((*loc, "step"), f"{count + 1} values; at most {MAX_GRID} (use a larger step)"))
    if option.default is not None:
        offset = (Fraction(option.default) - low) / step
        if offset.denominator != 1 or not low <= Fraction(option.default) <= high:
            problems.append(Problem((*loc, "default"), f"default {option.default} is not on the grid"))


def _rule_warnings(template: Template, scope: Scope, rules: dict[int, Expr], warnings: list[str]) -> None:
    options = {option.key: option for option in template.options}
    for index, expr in rules.items():
        rule = template.rules[index]
        keys = sorted(names_in(expr) & set(options))
        domains = [options[key].rule_values() for key in keys]
        if math.prod(len(domain) for domain in domains) > RULE_SCAN_LIMIT:
            continue
        holds = bool_fn(expr, scope)
        outcomes = {holds(dict(zip(keys, combo, strict=True))) for combo in itertools.product(*domains)}
        if outcomes == {False}:
            warnings.append(f"rules.{index}: rule {rule.id!r} can never be satisfied: no configuration is valid")
        elif outcomes == {True}:
            warnings.append(f"rules.{index}: rule {rule.id!r} can never be violated: it has no effect")


def check_template(template: Template) -> tuple[list[Problem], list[str]]:
    """All cross-field problems and rule warnings of a structurally valid template."""
    problems: list[Problem] = []
    warnings: list[str] = []
    _check_options(template, problems)
    scope = scope_of(template)
    rules: dict[int, Expr] = {}
    seen: set[str] = set()
    for index, rule in enumerate(template.rules):
        if rule.id in seen:
            problems.append(Problem(("rules", index, "id"), f"duplicate rule id {rule.id!r}"))
        seen.add(rule.id)
        expr = parse_checked(rule.rule, scope, "bool", ("rules", index, "rule"), problems)
        if expr is not None:
            rules[index] = expr
    formulas: list[tuple[str | None, str, Loc]] = [(template.weight_grams, "num", ("weight_grams",))]
    for index, item in enumerate(template.price.formulas):
        formulas += [(item.amount, "num", ("price", "formulas", index, "amount"))]
        formulas += [(item.when, "bool", ("price", "formulas", index, "when"))]
    for index, material in enumerate(template.materials):
        formulas += [(material.quantity, "num", ("materials", index, "quantity"))]
        formulas += [(material.when, "bool", ("materials", index, "when"))]
    for index, operation in enumerate(template.operations):
        loc: Loc = ("operations", index)
        formulas += [(operation.setup_minutes, "num", (*loc, "setup_minutes"))]
        formulas += [(operation.run_minutes, "num", (*loc, "run_minutes")), (operation.when, "bool", (*loc, "when"))]
        for position, key in enumerate(operation.setup_by):
            if key not in scope.kinds:
                problems.append(Problem((*loc, "setup_by", position), f"unknown option {key!r}"))
    for text, want, where in formulas:
        if text is not None:
            parse_checked(text, scope, want, where, problems)
    if not problems:
        _rule_warnings(template, scope, rules, warnings)
    if template.operations and template.operations[-1].capability != "pack":
        warnings.append(f"operations.{len(template.operations) - 1}: the last operation should be 'pack'")
    return problems, warnings
