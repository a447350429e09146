"""The template language: parsing, validation of documents, every problem named with its path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from meshfab.domain.catalog import Template, validate_template
from meshfab.domain.catalog_errors import TemplateError
from meshfab.domain.expression_ast import Binary, InList, Name, Number
from meshfab.domain.expressions import ExpressionError, parse_expression
from meshfab.engines.configurator import template_warnings

DEMO = Path(__file__).resolve().parent.parent / "examples" / "yiwu" / "templates.yaml"
CAPABILITIES = {
    "cut",
    "sew",
    "print_dtg",
    "print_screen",
    "sublimation",
    "embroider",
    "dye",
    "mould",
    "cast",
    "engrave",
    "laser",
    "pack",
}


def demo_docs() -> list[dict[str, Any]]:
    return yaml.safe_load(DEMO.read_text())["templates"]


def minimal(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "key": "mug",
        "name": "Mug",
        "currency": "USD",
        "hs_code": "691200",
        "weight_grams": 350,
        "packing": {"units_per_box": 36},
        "options": [
            {"key": "colour", "type": "enum", "values": [{"value": "white"}, {"value": "black"}]},
            {"key": "height_cm", "type": "number", "unit": "cm", "min": 8, "max": 12, "step": 1},
        ],
        "rules": [{"id": "tall-black", "rule": "height_cm > 10 requires colour = black"}],
        "price": {"base": 900},
        "operations": [{"capability": "pack", "run_minutes": 0.2}],
    }
    doc.update(changes)
    return doc


def test_rule_parses_into_typed_tree_with_precedence() -> None:
    tree = parse_expression("size in [XS, S] requires sleeve <= 60")
    assert isinstance(tree, Binary) and tree.op == "requires"
    assert isinstance(tree.left, InList) and [item.name for item in tree.left.items] == ["XS", "S"]
    assert tree.right == Binary("<=", Name("sleeve", 25), Number(60, 35), 32)
    conjunction = parse_expression("a = 1 or b = 2 and not c = 3")
    assert isinstance(conjunction, Binary) and conjunction.op == "or"
    assert isinstance(conjunction.right, Binary) and conjunction.right.op == "and"


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        ("a = ", 5, "expected a value"),
        ("a requires b requires c", 14, "parentheses"),
        ("colour = red $", 14, "unexpected character"),
        ("foo(x)", 1, "unknown function"),
        ("(a = 1", 7, "expected ')'"),
        ("", 1, "empty expression"),
    ],
)
def test_syntax_errors_name_the_position(source: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert caught.value.pos + 1 == position
    assert fragment in str(caught.value)


def test_expressions_never_reach_python_eval() -> None:
    with pytest.raises(ExpressionError):
        parse_expression("__import__('os').system('true')")


def test_demo_templates_are_valid_and_use_the_full_language() -> None:
    docs = demo_docs()
    assert len(docs) >= 7
    templates = []
    for doc in docs:
        template, warnings = validate_template(doc)
        assert warnings == [] and template_warnings(template) == []
        assert template.operations[-1].capability == "pack"
        assert {op.capability for op in template.operations} <= CAPABILITIES
        templates.append(template)
    kinds = {option.type for template in templates for option in template.options}
    assert kinds == {"enum", "number", "text", "artwork"}
    flag = next(template for template in templates if template.key == "flag")
    assert any("width_cm * height_cm" in formula.amount for formula in flag.price.formulas)
    assert any("width_cm" in material.quantity for material in flag.materials)


def test_every_problem_of_a_template_is_named_with_its_path() -> None:
    doc = minimal(
        options=[
            {"key": "colour", "type": "enum", "values": []},
            {"key": "height_cm", "type": "number", "unit": "cm", "min": 12, "max": 8},
            {"key": "width_cm", "type": "number", "unit": "cm", "min": 1, "max": 2, "step": 0.3},
        ],
        rules=[
            {"id": "one", "rule": "heigth_cm > 10 requires colour = black"},
            {"id": "one", "rule": "colour = "},
            {"id": "three", "rule": "height_cm <= 60cm"},
        ],
        price={"base": 900, "formulas": [{"label": "size", "amount": "len(colour)"}]},
    )
    with pytest.raises(TemplateError) as caught:
        validate_template(doc)
    problems = {(problem.loc, problem.msg.split(" at position")[0]) for problem in caught.value.problems}
    assert (("options", 0, "values"), "empty domain: option 'colour' has no values") in problems
    assert any(loc == ("options", 1, "max") and "empty domain" in msg for loc, msg in problems)
    assert any(loc == ("options", 2, "max") and "whole number of steps" in msg for loc, msg in problems)
    assert (("rules", 0, "rule"), "unknown option 'heigth_cm'") in problems
    assert (("rules", 1, "id"), "duplicate rule id 'one'") in problems
    assert any(loc == ("rules", 1, "rule") and "expected a value" in msg for loc, msg in problems)
    assert any(loc == ("rules", 2, "rule") and "without units" in msg for loc, msg in problems)
    assert any(loc == ("price", "formulas", 0, "amount") and "len()" in msg for loc, msg in problems)
    assert len(caught.value.problems) == 9  # also: black is not a value of the now empty colour


def test_structural_problems_carry_json_paths() -> None:
    doc = minimal(currency="XXY", hs_code="12345", origin_country="Germany", surprise=1)
    doc["operations"] = [{"capability": "weld", "run_minutes": 1}]
    with pytest.raises(TemplateError) as caught:
        validate_template(doc)
    locs = {problem.loc for problem in caught.value.problems}
    assert {("currency",), ("hs_code",), ("origin_country",), ("surprise",), ("operations", 0, "capability")} <= locs


def test_model_validate_rejects_cross_field_problems_too() -> None:
    doc = minimal(rules=[{"id": "bad", "rule": "size = XL requires colour = black"}])
    with pytest.raises(ValidationError, match="unknown option 'size'"):
        Template.model_validate(doc)


def test_unknown_enum_values_in_rules_and_lookups_are_problems() -> None:
    doc = minimal(rules=[{"id": "bad", "rule": "colour = purple"}], weight_grams="lookup(colour, {white: 3})")
    with pytest.raises(TemplateError) as caught:
        validate_template(doc)
    messages = " | ".join(problem.msg for problem in caught.value.problems)
    assert "'purple' is not a value of 'colour'" in messages
    assert "lookup() misses black" in messages


def test_rule_no_configuration_can_satisfy_is_a_warning() -> None:
    doc = minimal(rules=[{"id": "impossible", "rule": "height_cm > 20"}, {"id": "idle", "rule": "height_cm <= 12"}])
    template, warnings = validate_template(doc)
    assert any("'impossible' can never be satisfied" in warning for warning in warnings)
    assert any("'idle' can never be violated" in warning for warning in warnings)
    assert template_warnings(template) == [
        "<template>: no configuration satisfies all rules together: nothing can be ordered"
    ]


def test_values_no_configuration_can_use_are_warned() -> None:
    doc = minimal(rules=[{"id": "white-only", "rule": "colour = white"}])
    template, _ = validate_template(doc)
    assert template_warnings(template) == ["options.0: values of 'colour' no valid configuration can use: black"]


def test_last_operation_should_pack() -> None:
    doc = minimal(operations=[{"capability": "cut", "run_minutes": 1}])
    _, warnings = validate_template(doc)
    assert warnings == ["operations.0: the last operation should be 'pack'"]


def test_templates_are_immutable_and_forbid_extra_fields() -> None:
    template, _ = validate_template(minimal())
    with pytest.raises(ValidationError):
        template.name = "Cup"  # type: ignore[misc]
    doc = copy.deepcopy(minimal())
    doc["options"][0]["colour_code"] = "x"
    with pytest.raises(TemplateError) as caught:
        validate_template(doc)
    assert caught.value.problems[0].loc[:2] == ("options", 0)
