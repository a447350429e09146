"""The exactness claim, checked: domains equal brute-force enumeration on many random small templates."""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshfab.domain.catalog import Template, validate_template
from meshfab.domain.catalog_checks import scope_of
from meshfab.domain.expression_eval import bool_fn
from meshfab.domain.expressions import parse_expression
from meshfab.engines.configurator import Domain, configure


@st.composite
def option_docs(draw: st.DrawFn, index: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["enum", "enum", "number", "text", "artwork"]))
    required = draw(st.booleans())
    key = f"{kind[0]}{index}"
    if kind == "enum":
        count = draw(st.integers(1, 4))
        return {
            "key": key,
            "type": "enum",
            "required": required,
            "values": [{"value": f"v{value}"} for value in range(count)],
        }
    if kind == "number":
        step = draw(st.sampled_from(["1", "0.5"]))
        top = draw(st.integers(0, 3))
        return {
            "key": key,
            "type": "number",
            "unit": "cm",
            "min": "1",
            "max": str(1 + top),
            "step": step,
            "required": required,
        }
    if kind == "text":
        return {"key": key, "type": "text", "max_length": draw(st.integers(1, 3)), "required": required}
    return {"key": key, "type": "artwork", "formats": ["png"], "max_megabytes": 5, "required": required}


def atom(draw: st.DrawFn, options: list[dict[str, Any]]) -> str:
    option = draw(st.sampled_from(options))
    key = option["key"]
    if option["type"] == "enum":
        values = [item["value"] for item in option["values"]]
        if draw(st.booleans()):
            return f"{key} {draw(st.sampled_from(['=', '!=', '<=', '>']))} {draw(st.sampled_from(values))}"
        chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True))
        return f"{key} {draw(st.sampled_from(['in', 'not in']))} [{', '.join(chosen)}]"
    if option["type"] == "number":
        numbers = [other["key"] for other in options if other["type"] == "number" and other is not option]
        if numbers and draw(st.booleans()):
            return f"{key} >= {draw(st.sampled_from(numbers))} + {draw(st.sampled_from(['0', '0.5', '1']))}"
        op = draw(st.sampled_from(["<=", ">=", "=", "!=", "<"]))
        return f"{key} {op} {draw(st.sampled_from(['1', '1.5', '2', '3']))}"
    if option["type"] == "text" and draw(st.booleans()):
        return f"len({key}) {draw(st.sampled_from(['<=', '>=', '=']))} {draw(st.integers(0, 3))}"
    return f"given({key})" if draw(st.booleans()) else key


@st.composite
def expressions(draw: st.DrawFn, options: list[dict[str, Any]], depth: int = 0) -> str:
    if depth >= 2 or draw(st.integers(0, 2)) == 0:
        return atom(draw, options)
    op = draw(st.sampled_from(["and", "or", "requires", "excludes", "not"]))
    left = draw(expressions(options, depth + 1))
    if op == "not":
        return f"not ({left})"
    return f"({left}) {op} ({draw(expressions(options, depth + 1))})"


def _template(key: str, name: str, options: list[dict], rules: list[dict]) -> Template:
    """A minimal valid template around generated options and rules."""
    doc = {
        "key": key,
        "name": name,
        "currency": "USD",
        "hs_code": "950300",
        "weight_grams": 1,
        "packing": {"units_per_box": 1},
        "options": options,
        "rules": rules,
        "price": {"base": 100},
        "operations": [{"capability": "pack", "run_minutes": 1}],
    }
    return validate_template(doc)[0]


@st.composite
def templates(draw: st.DrawFn) -> Template:
    options = [draw(option_docs(index)) for index in range(draw(st.integers(1, 4)))]
    rules = [{"id": f"r{index}", "rule": draw(expressions(options))} for index in range(draw(st.integers(0, 4)))]
    return _template("random", "Random", options, rules)


def valid_configurations(template: Template) -> list[dict[str, Any]]:
    scope = scope_of(template)
    rules = [bool_fn(parse_expression(rule.rule), scope) for rule in template.rules]
    keys = [option.key for option in template.options]
    domains = []
    for option in template.options:
        values = option.rule_values()
        if option.required and option.type in ("text", "artwork"):
            values = values[1:]
        domains.append(values)
    configurations = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*domains)]
    return [env for env in configurations if all(rule(env) for rule in rules)]


def absent(value: Any) -> bool:
    return value is None or value is False or (value == 0 and not isinstance(value, Fraction))


def as_input(kind: str, value: Any) -> object:
    if kind == "text":
        return "x" * value
    if kind == "artwork":
        return {"ref": "art.png"}
    if kind == "number":
        return int(value) if value.denominator == 1 else float(value)
    return value


def domain_values(domain: Domain, kind: str) -> set[Any]:
    found: set[Any] = set()
    if domain.may_be_absent:
        found.add({"enum": None, "number": None, "text": 0, "artwork": False}[kind])
    if kind == "enum":
        found.update(domain.values)
    elif kind == "artwork" and domain.may_be_given:
        found.add(True)
    for low, high in domain.intervals:
        value = Fraction(str(low))
        while value <= Fraction(str(high)):
            found.add(int(value) if kind == "text" else value)
            value += Fraction(str(domain.step))
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_domains_equal_brute_force_enumeration(data: st.DataObject) -> None:
    template = data.draw(templates())
    solutions = valid_configurations(template)
    kinds = {option.key: option.type for option in template.options}
    for _ in range(4):
        choices: dict[str, Any] = {}
        for option in template.options:
            present = [value for value in option.rule_values() if not absent(value)]
            if present and data.draw(st.booleans()):
                choices[option.key] = data.draw(st.sampled_from(present))
        result = configure(template, {key: as_input(kinds[key], value) for key, value in choices.items()})
        extending = [env for env in solutions if all(env[key] == value for key, value in choices.items())]
        for option in template.options:
            expected = {env[option.key] for env in extending}
            assert domain_values(result.domains[option.key], option.type) == expected, (option.key, choices)
        complete = all(option.key in choices for option in template.options if option.required)
        assert result.complete == complete
        if complete:
            filled = {
                option.key: choices.get(
                    option.key,
                    option.rule_values()[-1] if option.type in ("enum", "number") else option.rule_values()[0],
                )
                for option in template.options
            }
            assert result.valid == (filled in solutions)
            assert (result.bill_of_materials is not None) == result.valid
        else:
            assert not result.valid


@st.composite
def dense_templates(draw: st.DrawFn) -> Template:
    """More options and rules than GAC alone can decide: exactness must come from the support search."""
    options = [
        {"key": f"e{index}", "type": "enum", "values": [{"value": f"v{v}"} for v in range(3)]}
        for index in range(draw(st.integers(4, 6)))
    ]
    rules = []
    for index in range(draw(st.integers(4, 10))):
        first, second, third = draw(st.permutations(options))[:3]
        values = [f"v{v}" for v in range(3)]
        a, b, c = (draw(st.sampled_from(values)) for _ in range(3))
        shape = draw(
            st.sampled_from(
                ["{a} requires {b}", "{a} excludes {b}", "{a} and {b} requires {c}", "{a} requires {b} or {c}"]
            )
        )
        text = shape.format(a=f"{first['key']} = {a}", b=f"{second['key']} != {b}", c=f"{third['key']} = {c}")
        rules.append({"id": f"r{index}", "rule": text})
    return _template("dense", "Dense", options, rules)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_domains_are_exact_where_propagation_alone_is_not(data: st.DataObject) -> None:
    template = data.draw(dense_templates())
    solutions = valid_configurations(template)
    for _ in range(3):
        keys = data.draw(st.lists(st.sampled_from([o.key for o in template.options]), max_size=3, unique=True))
        choices = {key: data.draw(st.sampled_from(["v0", "v1", "v2"])) for key in keys}
        result = configure(template, choices)
        extending = [env for env in solutions if all(env[key] == value for key, value in choices.items())]
        for option in template.options:
            assert set(result.domains[option.key].values) == {env[option.key] for env in extending}
        assert result.valid == (len(keys) == len(template.options) and bool(extending))
