"""The digital twin: scenario validation, demand, and whole runs that drive the real services."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from meshfab.bootstrap import DEMO_DIR
from meshfab.domain.errors import InvalidInput
from meshfab.services.platform import Platform
from meshfab.services.scheduling import factories_due
from meshfab.sim.demand import arrivals, day_rate
from meshfab.sim.main import simulate
from meshfab.sim.report import verdict
from meshfab.sim.scenario import load_scenario
from meshfab.store.tables import FactoryRow, ScheduleRow
from tests.helpers import busy_machine

DEFAULT = DEMO_DIR / "scenario.yaml"


def small_scenario(tmp_path: Path) -> Path:
    """The default scenario, one day of light demand, one day to drain, the world read from the demo folder."""
    text = DEFAULT.read_text(encoding="utf-8")
    text = text.replace("world: .", f"world: {DEMO_DIR.as_posix()}")
    text = text.replace("\ndays: 30", "\ndays: 1").replace("drain_days: 10", "drain_days: 1")
    text = text.replace("warmup_days: 14", "warmup_days: 1")
    path = tmp_path / "small.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_scenario_is_valid_and_has_its_events() -> None:
    scenario = load_scenario(DEFAULT)
    assert scenario.days == 30 and scenario.start.isoformat() == "2026-12-01T00:00:00+00:00"
    assert scenario.warmup_days == 14 and scenario.run_start.isoformat() == "2026-11-17T00:00:00+00:00"
    assert {p.name for p in scenario.demand.peaks} == {"christmas", "sports-final"}
    assert scenario.floor.outages and scenario.floor.outages[0].days >= 3


def test_a_scenario_error_is_rejected_with_its_line(tmp_path: Path) -> None:
    lines = DEFAULT.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("orders_per_day:"))
    lines[at] = "  orders_per_day: -5"
    bad = tmp_path / "bad.yaml"
    bad.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_scenario(bad)
    assert f"bad.yaml:{at + 1}" in caught.value.problems[0].msg
    assert caught.value.problems[0].loc == ("demand", "orders_per_day")


def test_an_unknown_key_is_rejected_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text(DEFAULT.read_text(encoding="utf-8").replace("  prefer_fastest:", "  prefer_fastst:"))
    with pytest.raises(InvalidInput) as caught:
        load_scenario(bad)
    assert any("typo.yaml:" in p.msg and "prefer_fastst" in p.loc for p in caught.value.problems)


def test_demand_is_the_same_for_a_seed_and_follows_the_peaks() -> None:
    scenario = load_scenario(DEFAULT, days=4)
    assert arrivals(scenario) == arrivals(scenario)
    assert arrivals(scenario) != arrivals(scenario, seed=8)
    plain, _ = day_rate(scenario, date(2026, 12, 2))
    peak, mix = day_rate(scenario, date(2026, 12, 11))  # Christmas and the sports final overlap
    assert peak > 1.5 * plain
    assert mix["christmas-ornament"] > scenario.demand.templates["christmas-ornament"].weight
    times = [a.at for a in arrivals(scenario)]
    assert times == sorted(times) and all(a.quantity >= 1 for a in arrivals(scenario))


def _stable(kpis: dict[str, Any]) -> dict[str, Any]:
    """The KPIs without wall times: those tell of the machine, not of the model."""
    stable = {k: v for k, v in kpis.items() if not k.startswith("wall_seconds")}
    stable["daily"] = [{k: v for k, v in day.items() if k != "wall_seconds"} for day in kpis["daily"]]
    return stable


def test_whole_runs_are_deterministic_sane_and_reported(tmp_path: Path, database_url: str) -> None:
    scenario = small_scenario(tmp_path)
    common = {"orders_per_day": 8.0, "data_dir": tmp_path, "database_url": database_url}
    first = simulate(scenario, tmp_path / "a", policies=["meshfab", "nearest", "fixed-lead-time"], **common)
    with busy_machine():  # solver limits count work, not seconds: a loaded machine replays the same run
        again = simulate(scenario, tmp_path / "b", policies=["meshfab"], **common)
    assert _stable(first["meshfab"]) == _stable(again["meshfab"])
    loaded = load_scenario(scenario)
    loaded = loaded.model_copy(update={"demand": loaded.demand.model_copy(update={"orders_per_day": 8.0})})
    buyers = arrivals(loaded)
    measured = [a for a in buyers if a.at >= loaded.start]
    assert loaded.warmup_days == 1 and len(buyers) > len(measured) > 0  # the warm-up's buyers come first
    assert all(k["orders"] == len(measured) for k in first.values())  # and count in no figure

    for name, k in first.items():
        assert k["orders"] == k["placed"] + k["walk_aways"] > 0, name
        assert k["orders"] == first["meshfab"]["orders"]  # same buyers for every policy
        for key in ("promise_kept_rate", "promise_kept_rate_domestic", "promise_kept_rate_global", "walk_away_rate"):
            assert k[key] is None or 0 <= k[key] <= 1, (name, key)
        assert k["utilisation"]["mesh"] is None or 0 <= k["utilisation"]["mesh"] <= 2
        assert k["cost_per_unit"] is None or k["cost_per_unit"] > 0
        if k["cost_per_unit"] is not None:  # the split adds up, to the rounding of each part
            split = k["production_cost_per_unit"] + k["shipping_cost_per_unit"]
            assert abs(split - k["cost_per_unit"]) <= 0.011 and k["shipping_cost_per_unit"] > 0, name
            by_preference = (k["cost_per_unit_fastest_buyers"], k["cost_per_unit_cheapest_buyers"])
            assert all(c is not None and c > 0 for c in by_preference), name  # both kinds of buyer shipped
            assert min(by_preference) - 0.01 <= k["cost_per_unit"] <= max(by_preference) + 0.01, name  # a mean
    assert first["nearest"]["rerouted_lines"] == first["fixed-lead-time"]["rerouted_lines"] == 0
    for name in ("nearest", "fixed-lead-time"):  # the same buyers' cost under both policies
        same = first[name]["same_buyers_as_meshfab"]
        assert 0 < same["buyers"] <= min(first[name]["placed"], first["meshfab"]["placed"]), name
        assert same["cost_per_unit"] > 0 and same["meshfab_cost_per_unit"] > 0, name
        fast, cheap = same["fastest_buyers"], same["cheapest_buyers"]
        assert fast["buyers"] + cheap["buyers"] == same["buyers"] and fast["buyers"] > 0 < cheap["buyers"], name
        for side in ("cost_per_unit", "meshfab_cost_per_unit"):  # the whole is a mean of its two parts
            parts = (fast[side], cheap[side])
            assert min(parts) - 0.01 <= same[side] <= max(parts) + 0.01, (name, side)
    assert "same_buyers_as_meshfab" not in first["meshfab"] and "cost_by_buyer" not in first["meshfab"]
    assert first["meshfab"]["replans"] > 0 and first["nearest"]["replans"] == 0
    assert all(day["wall_seconds"] > 0 for k in first.values() for day in k["daily"])  # where a slow day shows

    saved = json.loads((tmp_path / "a" / "kpis.json").read_text())
    assert set(saved) == {"meshfab", "nearest", "fixed-lead-time"}
    for k in saved.values():
        assert {
            "orders",
            "walk_aways",
            "promise_kept_rate",
            "lead_time_hours_p50",
            "cost_per_unit",
            "utilisation",
            "rerouted_lines",
            "at_risk_flagged",
        } <= set(k)
    page = (tmp_path / "a" / "index.html").read_text()
    assert page.count("<svg") >= 4 + 2 * 3 and "http://" not in page and "<script" not in page


def test_an_unknown_policy_is_refused(tmp_path: Path, database_url: str) -> None:
    with pytest.raises(ValueError, match="unknown policy"):
        simulate(
            small_scenario(tmp_path), tmp_path / "r", policies=["magic"], data_dir=tmp_path, database_url=database_url
        )


def _kpi(kept: float, production: float, shipping: float, same: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "promise_kept_rate": kept,
        "cost_per_unit": round(production + shipping, 2),
        "production_cost_per_unit": production,
        "shipping_cost_per_unit": shipping,
        "same_buyers_as_meshfab": same,
        "walk_away_rate": 0.1,
        "promises_judged": 100,
        "lead_time_hours_p50": 100.0,
    }


def test_the_verdict_says_where_the_cost_per_unit_goes() -> None:
    ahead = verdict({"meshfab": _kpi(0.95, 0.40, 0.40), "nearest": _kpi(0.90, 0.50, 0.40)})
    assert ahead.startswith("meshfab keeps more promises than nearest") and "no higher cost" in ahead
    dearer = verdict({"meshfab": _kpi(0.95, 0.50, 0.95), "fixed-lead-time": _kpi(0.90, 0.43, 0.41)})
    assert "costs 1.45 USD per unit against 0.84" in dearer
    assert "production 0.50 vs 0.43, shipping 0.95 vs 0.41" in dearer
    assert dearer.startswith("meshfab keeps more promises than fixed-lead-time (95.00% vs 90.00%) but costs")
    assert "both served" not in dearer  # no like-for-like figure without the shared buyers
    same = {"buyers": 1200, "cost_per_unit": 0.84, "meshfab_cost_per_unit": 0.80}
    split = verdict({"meshfab": _kpi(0.95, 0.50, 0.95), "fixed-lead-time": _kpi(0.90, 0.43, 0.41, same)})
    assert split.endswith("on the 1200 buyers both served it costs 0.80 against 0.84.")
    cheap = {"buyers": 500, "cost_per_unit": 0.70, "meshfab_cost_per_unit": 0.72}
    by_wish = verdict(
        {
            "meshfab": _kpi(0.95, 0.50, 0.95),
            "fixed-lead-time": _kpi(0.90, 0.43, 0.41, same | {"cheapest_buyers": cheap}),
        }
    )
    assert by_wish.endswith(
        "it costs 0.80 against 0.84 (0.72 against 0.70 on the 500 of them who asked for the cheapest offer, the rest "
        "chose speed)."
    )
    behind = verdict({"meshfab": _kpi(0.90, 0.40, 0.40), "fixed-lead-time": _kpi(0.95, 0.43, 0.41)})
    assert behind.startswith("meshfab keeps 90.00% of promises against fixed-lead-time's 95.00%")
    assert "costs" not in behind
    assert "Run with --compare" in verdict({"meshfab": _kpi(0.9, 0.5, 0.5)})


def test_a_scheduling_cycle_takes_new_and_waiting_work_but_not_what_was_just_scheduled(demo: Platform) -> None:
    now = demo.clock.now()
    with demo.uow() as uow:
        a, b, c, d = sorted(uow.session.scalars(select(FactoryRow.id)))[:4]
        for factory_id, computed_at, waiting in (
            (a, now, 0),
            (b, now, 5),
            (c, now - timedelta(hours=8), 3),
            (d, now, 0),
        ):
            uow.session.add(
                ScheduleRow(
                    factory_id=factory_id,
                    computed_at=computed_at,
                    status="optimal",
                    timeline=[],
                    lines=[],
                    seconds=0.0,
                    waiting_lines=waiting,
                )
            )
        uow.commit()
    # a and b were scheduled at this very instant (new work or not); c waits on its window; e has new work
    e = "nowhere-yet"
    assert factories_due(demo, {a, e}) == sorted([c, e])
