"""`report/index.html` and `report/kpis.json`: one self-contained page, charts drawn here as inline SVG.

No script, font or tile is fetched: the page opens from a USB stick on a machine with no network.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

COLOURS = {"meshfab": "#1b7f5f", "nearest": "#c0392b", "fixed-lead-time": "#2c6fbb"}
W, H, PAD = 640, 240, 40


def _colour(policy: str) -> str:
    return COLOURS.get(policy, "#777")


def _lines(title: str, series: dict[str, list[float | None]], labels: list[str], unit: str = "") -> str:
    values = [v for s in series.values() for v in s if v is not None]
    top = max(values, default=1.0) or 1.0
    n = max(len(labels), 2)
    x = lambda i: PAD + i * (W - 2 * PAD) / (n - 1)  # noqa: E731
    y = lambda v: H - PAD - v / top * (H - 2 * PAD)  # noqa: E731
    out = [_frame(title, f"max {top:.3g}{unit}")]
    for name, points in series.items():
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(points) if v is not None)
        out.append(f'<polyline fill="none" stroke="{_colour(name)}" stroke-width="2" points="{path}"/>')
    for i in range(0, len(labels), max(1, len(labels) // 6)):
        out.append(f'<text x="{x(i):.0f}" y="{H - 12}" font-size="10">{html.escape(labels[i][5:])}</text>')
    return "".join(out) + _legend(series) + "</svg>"


def _frame(title: str, note: str) -> str:
    return (
        f'<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{html.escape(title)}">'
        f'<text x="{PAD}" y="18" font-weight="bold">{html.escape(title)}</text>'
        f'<text x="{W - PAD}" y="18" text-anchor="end" font-size="10">{html.escape(note)}</text>'
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#999"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="#999"/>'
    )


def _legend(series: dict[str, Any]) -> str:
    return "".join(
        f'<text x="{PAD + 10 + k * 150}" y="{H - 24}" font-size="11" fill="{_colour(name)}">'
        f"■ {html.escape(name)}</text>"
        for k, name in enumerate(series)
    )


def _histogram(kpis: dict[str, dict[str, Any]], bins: int = 24) -> str:
    hours = [h for k in kpis.values() for h in k["lead_times"]]
    top = max(hours, default=1.0) or 1.0
    width = top / bins
    series = {}
    for name, k in kpis.items():
        counts = [0.0] * bins
        for h in k["lead_times"]:
            counts[min(bins - 1, int(h / width))] += 1
        total = sum(counts) or 1
        series[name] = [c / total for c in counts]
    labels = [f"-----{round(i * width / 24, 1)}d" for i in range(bins)]
    return _lines("Order-to-delivery time (share of lines per bin, days)", series, labels)


def _heat(name: str, heat: dict[str, dict[str, float]]) -> str:
    days = sorted({d for row in heat.values() for d in row})
    cell_w, cell_h, left = max(6, (W - 120) // max(1, len(days))), 9, 110
    height = 30 + cell_h * len(heat)
    out = [
        f'<svg viewBox="0 0 {W} {height}" width="{W}" height="{height}"><text x="4" y="14" font-weight="bold">'
        f"Utilisation by factory × day — {html.escape(name)}</text>"
    ]
    for r, (factory, row) in enumerate(sorted(heat.items())):
        yy = 22 + r * cell_h
        out.append(f'<text x="4" y="{yy + 8}" font-size="8">{html.escape(factory)}</text>')
        for c, day in enumerate(days):
            v = min(1.0, row.get(day, 0.0))
            shade = int(255 - 200 * v)
            out.append(
                f'<rect x="{left + c * cell_w}" y="{yy}" width="{cell_w - 1}" height="{cell_h - 1}" '
                f'fill="rgb(255,{shade},{shade})"><title>{factory} {day}: {v:.0%}</title></rect>'
            )
    return "".join(out) + "</svg>"


def _map(name: str, factories: list[dict[str, Any]], util: dict[str, float | None]) -> str:
    """Equirectangular projection; circle area grows with the factory's utilisation."""
    out = [
        f'<svg viewBox="0 0 {W} 320" width="{W}" height="320"><rect width="{W}" height="320" fill="#eef4f8"/>',
        f'<text x="6" y="16" font-weight="bold">Factories and their load — {html.escape(name)}</text>',
    ]
    for lon in range(-180, 181, 30):
        xx = (lon + 180) / 360 * W
        out.append(f'<line x1="{xx:.0f}" y1="0" x2="{xx:.0f}" y2="320" stroke="#d5e0e8"/>')
    for lat in range(-60, 91, 30):
        yy = (90 - lat) / 180 * 320
        out.append(f'<line x1="0" y1="{yy:.0f}" x2="{W}" y2="{yy:.0f}" stroke="#d5e0e8"/>')
    for f in factories:
        u = util.get(f["id"]) or 0.0
        xx, yy = (f["lon"] + 180) / 360 * W, (90 - f["lat"]) / 180 * 320
        out.append(
            f'<circle cx="{xx:.1f}" cy="{yy:.1f}" r="{3 + 14 * min(1.0, u) ** 0.5:.1f}" fill="{_colour(name)}" '
            f'fill-opacity="0.45" stroke="#333" stroke-width="0.5"><title>{html.escape(f["id"])}: {u:.0%}</title>'
            "</circle>"
        )
    return "".join(out) + "</svg>"


ROWS = [
    ("orders", "buyers arriving"),
    ("placed", "orders placed"),
    ("walk_away_rate", "walk-away rate"),
    ("promise_kept_rate", "promise kept"),
    ("promise_kept_rate_domestic", "kept, domestic"),
    ("promise_kept_rate_global", "kept, cross-border"),
    ("lead_time_hours_p50", "order→delivery h p50"),
    ("lead_time_hours_p95", "order→delivery h p95"),
    ("cost_per_unit", "cost per unit (USD)"),
    ("production_cost_per_unit", "of which production"),
    ("shipping_cost_per_unit", "of which shipping"),
    ("cost_per_unit_fastest_buyers", "cost per unit, buyers wanting the fastest"),
    ("cost_per_unit_cheapest_buyers", "cost per unit, buyers wanting the cheapest"),
    ("setups_per_unit", "setups per unit"),
    ("rerouted_lines", "lines re-routed"),
    ("at_risk_flagged", "promises flagged at risk"),
    ("at_risk_hours_before_deadline_p50", "flagged h before date p50"),
    ("customs_holds", "customs holds"),
    ("replans", "network re-plans"),
    ("wall_seconds", "wall seconds"),
]


def verdict(kpis: dict[str, dict[str, Any]]) -> str:
    """Does `meshfab` keep more promises than every baseline at no higher cost per unit? If not, why."""
    m = kpis.get("meshfab")
    others = {k: v for k, v in kpis.items() if k != "meshfab"}
    if m is None or not others:
        return "Run with --compare to see meshfab against the baselines."
    notes = []
    for name, o in others.items():
        mk, ok = m["promise_kept_rate"] or 0, o["promise_kept_rate"] or 0
        mc, oc = m["cost_per_unit"] or 0, o["cost_per_unit"] or 0
        if mk > ok and mc <= oc:
            notes.append(
                f"keeps more promises than {name} ({mk:.2%} vs {ok:.2%}) at no higher cost per unit "
                f"({mc:.2f} vs {oc:.2f} USD)."
            )
            continue
        dearer = (
            f"costs {mc:.2f} USD per unit against {oc:.2f} (production {m['production_cost_per_unit']:.2f} "
            f"vs {o['production_cost_per_unit']:.2f}, shipping {m['shipping_cost_per_unit']:.2f} vs "
            f"{o['shipping_cost_per_unit']:.2f}): buyers choosing the fastest offer buy faster lanes and "
            "nearer (dearer) factories"
        )
        like = _like_for_like(m, o)
        if mk > ok:
            notes.append(f"keeps more promises than {name} ({mk:.2%} vs {ok:.2%}) but {dearer}{like}.")
            continue
        why = [f"keeps {mk:.2%} of promises against {name}'s {ok:.2%}"]
        if (o["walk_away_rate"] or 0) > (m["walk_away_rate"] or 0):
            why.append(
                f"but {name} turned away {o['walk_away_rate']:.1%} of buyers (meshfab "
                f"{m['walk_away_rate']:.1%}) and judged only {o['promises_judged']} promises"
            )
        if (o["lead_time_hours_p50"] or 0) > (m["lead_time_hours_p50"] or 0):
            why.append(
                f"and its dates are padded: p50 {o['lead_time_hours_p50']} h to deliver vs {m['lead_time_hours_p50']} h"
            )
        if mc > oc:
            why.append(dearer + like)
        notes.append("; ".join(why) + ".")
    return " ".join(f"meshfab {n}" for n in notes)


def _like_for_like(m: dict[str, Any], o: dict[str, Any]) -> str:
    """The cost of the same buyers' same orders under both policies (`kpis.same_buyers`): free of the buyers
    only one of them served."""
    same = o.get("same_buyers_as_meshfab") or {}
    mine, theirs = same.get("meshfab_cost_per_unit"), same.get("cost_per_unit")
    if mine is None or theirs is None:
        return ""
    said = f"; on the {same['buyers']} buyers both served it costs {mine:.2f} against {theirs:.2f}"
    cheap = same.get("cheapest_buyers") or {}
    if cheap.get("meshfab_cost_per_unit") is not None and cheap.get("cost_per_unit") is not None:
        said += (
            f" ({cheap['meshfab_cost_per_unit']:.2f} against {cheap['cost_per_unit']:.2f} on the "
            f"{cheap['buyers']} of them who asked for the cheapest offer, the rest chose speed)"
        )
    return said


def write(out: Path, kpis: dict[str, dict[str, Any]], factories: list[dict[str, Any]], scenario: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "kpis.json").write_text(json.dumps(kpis, indent=2, default=str) + "\n", encoding="utf-8")
    first = next(iter(kpis.values()))
    labels = [d["day"] for d in first["daily"]]
    table = "<tr><th>KPI</th>" + "".join(f"<th>{html.escape(p)}</th>" for p in kpis) + "</tr>"
    for key, label in ROWS:
        cells = "".join(f"<td>{_fmt(key, k.get(key))}</td>" for k in kpis.values())
        table += f"<tr><td>{html.escape(label)}</td>{cells}</tr>"
    charts = [
        _lines("Orders placed per day", {p: [d["orders"] for d in k["daily"]] for p, k in kpis.items()}, labels),
        _lines(
            "Mesh load: reserved / available capacity per day",
            {
                p: [d["reserved_hours"] / d["capacity_hours"] if d["capacity_hours"] else None for d in k["daily"]]
                for p, k in kpis.items()
            },
            labels,
        ),
        _lines(
            "Promise-kept rate of lines delivered that day",
            {p: [d["kept_rate"] for d in k["daily"]] for p, k in kpis.items()},
            labels,
        ),
        _histogram(kpis),
    ]
    for name, k in kpis.items():
        charts.append(_heat(name, k["utilisation"]["heat"]))
        charts.append(_map(name, factories, k["utilisation"]["by_factory"]))
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>meshfab simulation</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}td:first-child{{text-align:left}}
svg{{margin:12px 12px 0 0;background:#fff;border:1px solid #eee}}</style></head><body>
<h1>meshfab digital twin — {html.escape(scenario)}</h1>
<p><b>Verdict.</b> {html.escape(verdict(kpis))}</p>
<table>{table}</table>
<p>Promises count as kept when delivered on time; undelivered past their date at the end count as broken; those
not yet due are left out. Only buyers arriving in the demand window are measured; a warm-up before it, if the
scenario has one, loads the mesh and counts in no figure. Utilisation is machine minutes worked over minutes
available in the demand window.</p>
{"".join(charts)}
</body></html>"""
    (out / "index.html").write_text(page, encoding="utf-8")


def _fmt(key: str, v: Any) -> str:
    if (key.endswith("rate") or "_rate_" in key) and isinstance(v, float):
        return f"{v:.1%}"
    return html.escape("—" if v is None else str(v))
