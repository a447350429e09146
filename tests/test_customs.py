"""Customs rules table, declarations and duty estimates hand-checked against the demo table."""

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from meshfab.domain.customs import CustomsRules, UnknownDestination, load_rules
from meshfab.domain.errors import InvalidInput
from meshfab.engines.customs import customs_declaration, estimate_duties

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "yiwu"
DOC = yaml.safe_load((EXAMPLES / "customs.yaml").read_text())
RULES = load_rules(DOC)


@dataclass(frozen=True)
class Item:
    description: str = "Custom team shirt"
    hs_code: str = "610910"
    quantity: int = 10
    unit_value: int = 1000
    unit_weight_grams: int = 175
    origin_country: str = "CN"


def estimate(dest: str, value: int, *, shipping: int = 0, origin: str = "CN", incoterm: str = "DAP", **item: object):
    items = [Item(quantity=1, unit_value=value, origin_country=origin, **item)]  # type: ignore[arg-type]
    declaration = customs_declaration(items, origin, dest, incoterm, "USD", RULES, shipping=shipping)
    return estimate_duties(declaration, RULES)


def test_declaration_is_itemised_and_complete() -> None:
    medal = Item(description="Medal", hs_code="830629", quantity=1, unit_value=450, unit_weight_grams=57)
    items = [Item(), Item(quantity=5), medal]
    d = customs_declaration(items, "CN", "DE", "DDP", "USD", RULES, shipping=1500)
    assert [(x.description, x.hs_code, x.quantity, x.value, x.weight_grams, x.origin_country) for x in d.lines] == [
        ("Custom team shirt", "610910", 15, 15_000, 2_625, "CN"),
        ("Medal", "830629", 1, 450, 57, "CN"),
    ]
    totals = (d.goods_value, d.net_weight_grams, d.currency, d.incoterm, d.shipping)
    assert totals == (15_450, 2_682, "USD", "DDP", 1500)


def test_incomplete_items_are_refused_with_every_problem() -> None:
    with pytest.raises(InvalidInput) as refused:
        customs_declaration([Item(description=" ", hs_code="6109", quantity=0, origin_country="XX")], "CN", "DE",
                            "DAP", "USD", RULES)  # fmt: skip
    fields = {p.loc[-1] for p in refused.value.problems}
    assert fields == {"description", "hs_code", "quantity", "origin_country"}
    with pytest.raises(InvalidInput) as bad_terms:
        customs_declaration([], "CN", "DE", "FOB", "XYZ", RULES, shipping=-1)
    assert len(bad_terms.value.problems) == 4


def test_domestic_intra_union_and_unknown_destinations_are_refused() -> None:
    with pytest.raises(InvalidInput, match="crosses no customs border"):
        customs_declaration([Item()], "CN", "CN", "DAP", "USD", RULES)
    with pytest.raises(InvalidInput, match="crosses no customs border"):
        customs_declaration([Item(origin_country="PL")], "PL", "DE", "DAP", "USD", RULES)
    with pytest.raises(UnknownDestination, match="ZA"):
        customs_declaration([Item()], "CN", "ZA", "DAP", "USD", RULES)
    assert RULES.crosses_border("PL", "GB") and RULES.crosses_border("CN", "DE")


def test_eu_below_150_eur_pays_the_flat_duty_and_vat_at_sale() -> None:
    e = estimate("DE", 10_000, shipping=1_500)  # EUR 150 = USD 174
    assert e.duty == 348  # EUR 3 = USD 3.48 for one HS code
    assert e.tax == 2_251  # 19 % × (10000 + 1500 + 348) = 2251.12
    assert (e.at_sale, e.at_border, e.border_payer) == (2_251, 348, "buyer")


def test_eu_above_150_eur_pays_chapter_duty_on_cif_and_vat_at_the_border() -> None:
    e = estimate("DE", 20_000, shipping=1_500, incoterm="DDP")
    assert e.duty == 2_580  # 12 % × 21500
    assert e.tax == 4_575  # 19 % × 24080 = 4575.2
    assert (e.at_sale, e.at_border, e.border_payer) == (0, 7_155, "merchant")
    assert estimate("FR", 20_000, shipping=1_500).tax == 4_816  # 20 % × 24080


def test_uk_de_minimis_edge_at_exactly_135_gbp() -> None:
    at_edge = estimate("GB", 18_090)  # GBP 135 × 1.34 = USD 180.90
    assert (at_edge.duty, at_edge.tax, at_edge.at_sale) == (0, 3_618, 3_618)
    above = estimate("GB", 18_091)
    assert above.duty == 2_171  # 12 % × 18091 = 2170.92
    assert above.tax == 4_052  # 20 % × 20262 = 4052.4
    assert above.at_sale == 0 and above.at_border == 6_223


def test_us_has_no_de_minimis_and_surcharges_chinese_origin() -> None:
    cn = estimate("US", 1_000)
    assert (cn.duty, cn.tax) == (365, 0)  # (16.5 % + 20 %) × 1000
    assert estimate("US", 10_000, origin="MX").total == 0  # USMCA origin


def test_canada_thresholds_depend_on_origin() -> None:
    cn = estimate("CA", 5_000)  # CAD 20 = USD 14.40: both due
    assert (cn.duty, cn.tax) == (900, 767)  # 18 %; 13 % × 5900 = 767
    us = estimate("CA", 10_000, origin="US")  # CAD 150 = USD 108 duty-free; CAD 40 = USD 28.80 taxed
    assert (us.duty, us.tax) == (0, 1_300)
    small_us = estimate("CA", 2_800, origin="US")
    assert small_us.total == 0


def test_australia_collects_gst_at_sale_up_to_1000_aud() -> None:
    low = estimate("AU", 50_000, shipping=1_000)  # AUD 1000 = USD 660
    assert (low.duty, low.tax, low.at_sale, low.at_border) == (0, 5_100, 5_100, 0)
    high = estimate("AU", 70_000, origin="GB", hs_code="830629")
    assert (high.duty, high.tax, high.at_border) == (0, 7_000, 7_000)  # GB preferential; GST at the border


def test_japan_exempts_up_to_10000_yen() -> None:
    assert estimate("JP", 6_800).total == 0  # JPY 10000 = USD 68
    e = estimate("JP", 10_000, shipping=1_000)
    assert (e.duty, e.tax) == (1_199, 1_220)  # 10.9 % × 11000; 10 % × 12199 = 1219.9


def test_brazil_remessa_conforme_tiers_with_icms_por_dentro() -> None:
    low = estimate("BR", 4_000, shipping=500)
    assert low.duty == 900  # 20 % × 4500
    assert low.tax == 1_106  # 5400 × 0.17 / 0.83 = 1106.02
    high = estimate("BR", 10_000, shipping=1_000)
    assert high.duty == 4_600  # 60 % × 11000 − USD 20
    assert high.tax == 3_195  # 15600 × 0.17 / 0.83 = 3195.18


def test_mexico_global_rate_includes_iva() -> None:
    e = estimate("MX", 10_000)
    assert (e.duty, e.tax) == (3_350, 0)


def test_unknown_destination_in_estimate() -> None:
    d = customs_declaration([Item()], "CN", "DE", "DAP", "USD", RULES)
    smaller = RULES.model_copy(update={"destinations": {"GB": RULES.destinations["GB"]}})
    with pytest.raises(UnknownDestination):
        estimate_duties(d, smaller)


def test_the_table_is_dated_and_covers_the_required_destinations() -> None:
    assert RULES.valid_from.year >= 2025 and "de minimis" in RULES.source
    assert {"DE", "FR", "NL", "PL", "GB", "US", "CA", "AU", "JP", "BR", "CN", "MX", "KR"} <= set(RULES.destinations)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("destinations", "GB", "duty_rates"), {"6109": "0.1"}, "6109"),
        (("destinations", "GB", "tax_rate"), "2.5", "tax_rate"),
        (("destinations", "GB", "colour"), "red", "colour"),
        (("destinations", "GB", "threshold_currency"), "XXX", "threshold_currency"),
        (("destinations", "BR", "tiers"), [{"up_to": "100", "rate": "0.6"}, {"up_to": "50", "rate": "0.2"}], "BR"),
        (("exchange_rates",), {"EUR": "1.1"}, "exchange_rates"),
        (("valid_from",), "soon", "valid_from"),
        (("destinations", "ZZ"), {"name": "Nowhere"}, "ZZ"),
    ],
)
def test_invalid_tables_are_refused(path: tuple[str, ...], value: object, field: str) -> None:
    doc = yaml.safe_load((EXAMPLES / "customs.yaml").read_text())
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidInput) as refused:
        load_rules(doc)
    assert any(field in str(p) for p in refused.value.problems)


def test_every_cross_border_lane_of_the_demo_world_gets_complete_customs_data() -> None:
    lanes = yaml.safe_load((EXAMPLES / "lanes.yaml").read_text())["lanes"]
    factories = yaml.safe_load((EXAMPLES / "factories.yaml").read_text())["factories"]
    templates = yaml.safe_load((EXAMPLES / "templates.yaml").read_text())["templates"]
    country = {f["location"]["region"]: f["location"]["country"] for f in factories}
    items = [Item(description=t["name"], hs_code=t["hs_code"], origin_country=t.get("origin_country", "CN"))
             for t in templates]  # fmt: skip
    crossing = 0
    for lane in lanes:
        origin, dest = country[lane["origin_region"]], lane["destination_country"]
        if not RULES.crosses_border(origin, dest):
            continue
        crossing += 1
        d = customs_declaration(items, origin, dest, "DDP", "USD", RULES, shipping=lane["cost_per_parcel"])
        assert len(d.lines) == len(templates)
        assert all(x.description and len(x.hs_code) == 6 and x.quantity and x.weight_grams and x.origin_country
                   for x in d.lines)  # fmt: skip
        e = estimate_duties(d, RULES)
        assert e.duty >= 0 and e.tax >= 0 and e.at_border + e.at_sale == e.total
    assert crossing > 80


def test_rules_round_trip_through_the_model() -> None:
    assert CustomsRules.model_validate(RULES.model_dump()) == RULES
