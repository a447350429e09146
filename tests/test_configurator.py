"""Interactive configuration: violations, domains, running price, and the outputs of a complete order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshfab.domain.catalog import Template, validate_template
from meshfab.domain.catalog_errors import ConfigurationInputError
from meshfab.engines.configurator import configure

DEMO = Path(__file__).resolve().parent.parent / "examples" / "yiwu" / "templates.yaml"


@pytest.fixture(scope="module")
def demo() -> dict[str, Template]:
    docs = yaml.safe_load(DEMO.read_text())["templates"]
    return {doc["key"]: validate_template(doc)[0] for doc in docs}


def priced(base: int, formulas: list[dict[str, Any]], breaks: list[dict[str, Any]] | None = None) -> Template:
    doc = {
        "key": "sign",
        "name": "Sign",
        "currency": "CNY",
        "hs_code": "392690",
        "weight_grams": 10,
        "packing": {"units_per_box": 1},
        "options": [{"key": "width_cm", "type": "number", "unit": "cm", "min": 1, "max": 10, "step": 0.5}],
        "price": {"base": base, "formulas": formulas, "quantity_breaks": breaks or []},
        "operations": [{"capability": "pack", "run_minutes": 1}],
    }
    return validate_template(doc)[0]


def test_partial_choices_prune_domains_and_keep_price_running(demo: dict[str, Template]) -> None:
    shirt = demo["team-shirt"]
    result = configure(shirt, {"print": "sublimation"})
    assert not result.valid and not result.complete and result.violations == []
    assert result.domains["fabric"].values == ["polyester"]
    assert result.domains["colour"].values == ["white", "fluo-yellow"]
    assert result.domains["print"].values == ["sublimation"]
    assert result.price.unit == 550 + 210 and not result.price.complete
    assert result.price.pending == ["name print", "number print", "crest"]


def test_text_length_domain_follows_rules(demo: dict[str, Template]) -> None:
    result = configure(demo["team-shirt"], {"size": "XS"})
    assert result.domains["player_name"].intervals == [(1, 10)]
    assert result.domains["player_name"].may_be_absent


def test_number_domains_are_intervals_on_the_grid(demo: dict[str, Template]) -> None:
    shirt = demo["made-to-measure-shirt"]
    result = configure(shirt, {"fit": "slim", "waist_cm": 120})
    assert result.domains["chest_cm"].intervals == [(130, 140)]
    assert result.domains["chest_cm"].step == 2
    flag = configure(demo["flag"], {"width_cm": 200, "sides": "double"})
    assert flag.domains["height_cm"].intervals == [(100, 150)]
    assert flag.domains["fabric"].values == ["knitted_polyester"]


def test_every_violation_is_reported_not_only_the_first(demo: dict[str, Template]) -> None:
    result = configure(
        demo["team-shirt"],
        {
            "fabric": "cotton",
            "size": "S",
            "colour": "fluo-yellow",
            "print": "sublimation",
            "player_name": "MAXIMILIANUS",
            "number": 100,
            "crest": {"ref": "crest.gif"},
        },
    )
    assert not result.valid and result.complete
    assert {violation.rule for violation in result.violations} == {
        "option:number",
        "option:crest",
        "sublimation-on-polyester",
        "fluo-polyester",
        "name-fits-small-sizes",
    }
    by_rule = {violation.rule: violation for violation in result.violations}
    assert by_rule["sublimation-on-polyester"].options == ["fabric", "print"]
    assert by_rule["sublimation-on-polyester"].message == "Sublimation only works on polyester."
    assert result.bill_of_materials is None and result.operations is None


def test_out_of_range_values_are_violations_and_the_option_stays_open(demo: dict[str, Template]) -> None:
    result = configure(demo["made-to-measure-shirt"], {"sleeve_cm": 61.25, "monogram": "abcd"})
    assert {violation.rule for violation in result.violations} == {"option:sleeve_cm", "option:monogram"}
    assert result.domains["sleeve_cm"].intervals == [(56, 72)]
    assert result.domains["sleeve_cm"].step == 0.5


def test_choices_with_no_completion_are_a_violation() -> None:
    doc = {
        "key": "pair",
        "name": "Pair",
        "currency": "USD",
        "hs_code": "950300",
        "weight_grams": 1,
        "packing": {"units_per_box": 1},
        "options": [
            {"key": key, "type": "enum", "values": [{"value": "x"}, {"value": "y"}]} for key in ("a", "b", "c")
        ],
        "rules": [
            {"id": "ab", "rule": "a = x requires b = x"},
            {"id": "ac", "rule": "a = x requires c = x"},
            {"id": "bc", "rule": "b = x excludes c = x"},
        ],
        "price": {"base": 1},
        "operations": [{"capability": "pack", "run_minutes": 1}],
    }
    template = validate_template(doc)[0]
    assert configure(template, {}).domains["a"].values == ["y"]
    result = configure(template, {"a": "x"})
    assert [violation.rule for violation in result.violations] == ["no-completion"]
    assert all(domain.values == [] for domain in result.domains.values())


def test_complete_valid_configuration_gives_everything_scheduling_needs(demo: dict[str, Template]) -> None:
    result = configure(
        demo["flag"],
        {
            "width_cm": 150,
            "height_cm": 100,
            "fabric": "knitted_polyester",
            "finish": "grommets",
            "sides": "single",
            "artwork": {"ref": "up/flag.pdf", "megabytes": 3, "width_px": 6000},
        },
        quantity=20,
    )
    assert result.valid and result.violations == []
    # 500 + 1.5 m² × 1800 = 3200, less 10 % for 20 flags = 2880 per flag
    assert (result.price.unit, result.price.total, result.price.percent_off) == (2880, 57600, "10")
    bom = {line.material: line for line in result.bill_of_materials or []}
    assert bom["knitted-polyester-110gsm"].per_unit == pytest.approx(154 * 104 / 10000)
    assert bom["knitted-polyester-110gsm"].quantity == pytest.approx(20 * 154 * 104 / 10000)
    assert bom["brass-grommet"].per_unit == 2 and bom["sublimation-ink"].unit == "ml"
    ops = result.operations or []
    assert [op.capability for op in ops] == ["sublimation", "cut", "sew", "pack"]
    assert [op.sequence for op in ops] == [1, 2, 3, 4]
    assert ops[0].setup_family == "sublimation:fabric=knitted_polyester" and ops[0].run_minutes_per_unit == 7
    assert ops[2].setup_family == "sew:finish=grommets" and ops[2].setup_minutes == 10
    assert result.weight_grams == 185  # 150 × 100 × 0.011 + 20


def test_engraving_and_optional_options(demo: dict[str, Template]) -> None:
    medal = demo["medal"]
    base = {
        "diameter_mm": "50",
        "plating": "gold",
        "relief": "2d",
        "enamel_colours": 2,
        "design": {"ref": "d.ai"},
        "ribbon": "plain",
    }
    plain = configure(medal, base)
    assert plain.valid and [op.capability for op in plain.operations or []] == ["cast", "dye", "pack"]
    too_long = configure(medal, {**base, "back_engraving": "CHAMPIONS 2025 CITY CUP"})
    assert [v.rule for v in too_long.violations] == ["engraving-space"]
    engraved = configure(medal, {**base, "back_engraving": "CHAMPIONS 2025"})
    assert engraved.valid and engraved.price.unit == 250 + 2 * 17 + 40 + 2 * 14
    assert "engrave" in [op.capability for op in engraved.operations or []]


def test_unit_price_is_rounded_once_half_up() -> None:
    template = priced(100, [{"label": "area", "amount": "width_cm * 0.25"}])  # 0.125 per half-cm step
    assert configure(template, {"width_cm": 2}).price.unit == 101  # 100.5 → 101
    assert configure(template, {"width_cm": 1.5}).price.unit == 100  # 100.375 → 100
    discounted = priced(999, [], [{"min_quantity": 3, "percent_off": 12.5}])
    result = configure(discounted, {"width_cm": 1}, quantity=4)
    assert (result.price.unit, result.price.total) == (874, 3496)  # 874.125 → 874, total 4 × 874
    exactly_half = priced(1, [{"label": "x", "amount": "width_cm"}], [{"min_quantity": 2, "percent_off": 50}])
    assert configure(exactly_half, {"width_cm": 4}, quantity=2).price.unit == 3  # 2.5 → 3


def test_malformed_input_raises_naming_every_option(demo: dict[str, Template]) -> None:
    with pytest.raises(ConfigurationInputError) as caught:
        configure(demo["team-shirt"], {"colour": 3, "sleeves": "long", "number": "10", "crest": 5})
    named = {problem.loc[1] for problem in caught.value.problems}
    assert named == {"colour", "sleeves", "number", "crest"}
    assert "unknown option 'sleeves'" in str(caught.value)
    with pytest.raises(ConfigurationInputError, match="quantity"):
        configure(demo["team-shirt"], {}, quantity=0)
    with pytest.raises(ConfigurationInputError):
        configure(demo["team-shirt"], {"number": True})


def test_every_demo_template_can_be_clicked_to_a_valid_order(demo: dict[str, Template]) -> None:
    for template in demo.values():
        choices: dict[str, object] = {}
        result = configure(template, choices)
        while not result.complete:
            key, domain = next(
                (k, d) for k, d in result.domains.items() if k not in choices and template.option(k).required
            )
            if domain.kind == "enum":
                choices[key] = domain.values[-1]
            elif domain.kind == "artwork":
                choices[key] = {"ref": "art.pdf", "format": template.option(key).formats[0]}  # type: ignore[union-attr]
            elif domain.kind == "text":
                choices[key] = "A" * int(domain.intervals[-1][1])
            else:
                choices[key] = domain.intervals[-1][1]
            result = configure(template, choices)
        assert result.valid, (template.key, result.violations)
        assert result.operations and result.operations[-1].capability == "pack"
        assert result.price.complete and result.weight_grams and result.weight_grams > 0
