"""The call the storefront makes on every click: choices in, violations, exact domains and price out.

Choices that are malformed (an unknown option, a number given as text) raise ``ConfigurationInputError``
naming every bad option. Choices that are well-formed but not allowed (an unknown size, a sleeve off the
grid, an engraving too long) are violations, and the option is then treated as not chosen, so the buyer
still sees which values would fit. For a chosen option the domain is the chosen value if the choices can
still be completed, else empty: to learn an option's alternatives, call without it.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from fractions import Fraction
from typing import Any

from meshfab.domain.catalog import ArtworkOption, EnumOption, NumberOption, Template, TextOption
from meshfab.domain.catalog_errors import ConfigurationInputError, Problem
from meshfab.domain.expression_ast import names_in
from meshfab.domain.expressions import parse_expression
from meshfab.engines.configurator.compile import Compiled, compile_rules
from meshfab.engines.configurator.outputs import (
    Outputs,
    bill_of_materials,
    compile_outputs,
    operations_of,
    price_of,
    weight_of,
)
from meshfab.engines.configurator.results import Configuration, Domain, Violation
from meshfab.engines.configurator.solver import exact_domains, root_domains

_CACHE: dict[int, tuple[Template, Compiled, Outputs, list[list[str]]]] = {}
_LOCK = threading.Lock()
_CACHE_SIZE = 64


def compile_template(template: Template) -> tuple[Compiled, Outputs]:
    """Compile once per template object (templates are frozen), memoised; raises ``TemplateError``."""
    entry = _CACHE.get(id(template))
    if entry is None or entry[0] is not template:
        comp = compile_rules(template)
        comp.root = root_domains(comp)
        outputs = compile_outputs(template)
        rule_options = [sorted(names_in(parse_expression(rule.rule)) & set(comp.position)) for rule in template.rules]
        entry = (template, comp, outputs, rule_options)
        with _LOCK:
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[id(template)] = entry
    return entry[1], entry[2]


def _rule_options(template: Template) -> list[list[str]]:
    compile_template(template)
    return _CACHE[id(template)][3]


def _as_fraction(value: object) -> Fraction | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | Fraction):
        return None
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    return Fraction(value)


def _read(option: Any, value: object, problems: list[Problem], violations: list[Violation]) -> int | None:
    """The rule-value index of a choice; None (and a violation) if the option does not allow it."""
    key = option.key
    label = option.label or key

    def refuse(message: str) -> None:
        violations.append(Violation(f"option:{key}", message, [key]))

    if isinstance(option, EnumOption):
        if not isinstance(value, str):
            problems.append(Problem(("options", key), f"expected a text value, got {type(value).__name__}"))
            return None
        values = [item.value for item in option.values]
        if value not in values:
            refuse(f"{value!r} is not a {label} (choose from {', '.join(values)})")
            return None
        return values.index(value)
    if isinstance(option, NumberOption):
        number = _as_fraction(value)
        if number is None:
            problems.append(Problem(("options", key), f"expected a number, got {type(value).__name__}"))
            return None
        offset = (number - Fraction(option.min)) / Fraction(option.step)
        if not option.min <= number <= option.max or offset.denominator != 1:
            refuse(f"{label} must be between {option.min} and {option.max} {option.unit} in steps of {option.step}")
            return None
        return int(offset)
    if isinstance(option, TextOption):
        if not isinstance(value, str):
            problems.append(Problem(("options", key), f"expected text, got {type(value).__name__}"))
            return None
        if len(value) > option.max_length:
            refuse(f"{label} is {len(value)} characters long; at most {option.max_length}")
            return None
        if bad := option.bad_characters(value):
            refuse(f"{label} contains characters that cannot be made: {''.join(bad)!r}")
            return None
        return len(value)
    assert isinstance(option, ArtworkOption)
    return _read_artwork(option, value, problems, refuse)


def _read_artwork(option: ArtworkOption, value: object, problems: list[Problem], refuse: Any) -> int | None:
    key = option.key
    if isinstance(value, str):
        value = {"ref": value}
    if not isinstance(value, dict) or not isinstance(value.get("ref"), str) or not value["ref"]:
        problems.append(Problem(("options", key), "expected an artwork reference {'ref': ..., 'format': ...}"))
        return None
    fmt = value.get("format") or value["ref"].rsplit(".", 1)[-1].lower()
    size = _as_fraction(value.get("megabytes", 0))
    width = value.get("width_px")
    if size is None or (width is not None and (isinstance(width, bool) or not isinstance(width, int))):
        problems.append(Problem(("options", key), "artwork megabytes must be a number and width_px an integer"))
        return None
    if fmt not in option.formats:
        refuse(f"artwork format {fmt!r} is not accepted (use {', '.join(option.formats)})")
    elif size > Fraction(option.max_megabytes):
        refuse(f"artwork is {float(size):g} MB; at most {option.max_megabytes} MB")
    elif option.min_width_px and width is not None and width < option.min_width_px:
        refuse(f"artwork is {width} px wide; at least {option.min_width_px} px are needed")
    else:
        return 1
    return None


def _domain(var: Any, option: Any, mask: int) -> Domain:
    indices = [index for index in range(len(var.values)) if mask >> index & 1]
    absent = var.absent is not None and var.absent in indices
    present = [index for index in indices if index != var.absent]
    if var.kind == "enum":
        return Domain("enum", [var.values[i] for i in present], [], None, absent, bool(present))
    if var.kind == "artwork":
        return Domain("artwork", [], [], None, absent, bool(present))
    runs: list[tuple[int, int]] = []
    for index in present:
        if runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))

    def shown(value: Any) -> int | float:
        value = Fraction(value)
        return int(value) if value.denominator == 1 else float(value)

    step = shown(option.step) if var.kind == "number" else 1
    intervals = [(shown(var.values[low]), shown(var.values[high])) for low, high in runs]
    return Domain(var.kind, [], intervals, step, absent, bool(present))


def configure(template: Template, options: dict[str, object], quantity: int = 1) -> Configuration:
    comp, outputs = compile_template(template)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ConfigurationInputError([Problem(("quantity",), "quantity must be a whole number ≥ 1")])
    if not isinstance(options, dict):
        raise ConfigurationInputError([Problem(("options",), "options must be a mapping of option keys")])
    problems: list[Problem] = []
    violations: list[Violation] = []
    fixed: dict[int, int] = {}
    for key, value in options.items():
        if key not in comp.position:
            problems.append(Problem(("options", str(key)), f"unknown option {key!r} in {template.key!r}"))
            continue
        if value is None or value == "":
            continue
        var = comp.position[key]
        index = _read(template.options[var], value, problems, violations)
        if index is not None:
            fixed[var] = index
    if problems:
        raise ConfigurationInputError(problems)
    complete = all(var in fixed for var, o in enumerate(template.options) if o.required)
    checked = dict(fixed)
    if complete:
        for var, info in enumerate(comp.vars):
            if var not in checked and info.absent is not None:
                checked[var] = info.absent
    violations += _rule_violations(comp, checked, _rule_options(template))
    masks = exact_domains(comp, fixed)
    if not violations and not any(masks):
        violations.append(
            Violation(
                "no-completion",
                "No complete configuration is possible with these choices",
                [comp.vars[var].key for var in sorted(fixed)],
            )
        )
    domains = {var.key: _domain(var, template.options[i], masks[i]) for i, var in enumerate(comp.vars)}
    env = {var.key: var.values[checked[i]] if i in checked else None for i, var in enumerate(comp.vars)}
    for i, var in enumerate(comp.vars):
        if i not in checked and var.kind in ("text", "artwork"):
            env[var.key] = var.values[0]
    decided = {comp.vars[var].key for var in checked}
    price = price_of(outputs, env, decided, quantity)
    valid = complete and not violations
    if not valid:
        return Configuration(template.key, False, complete, violations, domains, price)
    return Configuration(
        template.key,
        True,
        True,
        [],
        domains,
        price,
        bill_of_materials(outputs, env, quantity),
        operations_of(outputs, env),
        weight_of(outputs, env),
    )


def _rule_violations(comp: Compiled, checked: dict[int, int], rule_options: list[list[str]]) -> list[Violation]:
    """Rules with a clause that the choices made so far already make false."""
    broken: set[int] = set()
    for clause, rule in zip(comp.clauses, comp.clause_rule, strict=True):
        if rule in broken:
            continue
        for var, mask in clause:
            index = checked.get(var)
            if (comp.vars[var].init if index is None else 1 << index) & mask:
                break
        else:
            broken.add(rule)
    template = comp.template
    violations = []
    for index in sorted(broken):
        rule = template.rules[index]
        message = rule.message or f"Rule {rule.id!r} is not met: {rule.rule}"
        violations.append(Violation(rule.id, message, rule_options[index]))
    return violations
