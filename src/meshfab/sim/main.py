"""`meshfab simulate`: run one policy or all of them on the same demand and write the report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from meshfab.sim import kpis as kpi
from meshfab.sim import report
from meshfab.sim.demand import arrivals
from meshfab.sim.policies import POLICIES
from meshfab.sim.run import Record, Simulation
from meshfab.sim.scenario import load_scenario
from meshfab.store.database import embedded_server_url
from meshfab.store.tables import FactoryRow


def server_url(data_dir: Path, database_url: str | None = None) -> str:
    """The server the run databases live on: the given URL's, else the embedded one in the data folder."""
    url = database_url or os.environ.get("MESHFAB_DATABASE_URL")
    return url or embedded_server_url(data_dir, "postgres")


def simulate(
    scenario_path: Path,
    out: Path,
    *,
    policies: list[str],
    days: int | None = None,
    seed: int | None = None,
    orders_per_day: float | None = None,
    drain_days: int | None = None,
    warmup_days: int | None = None,
    data_dir: Path,
    database_url: str | None = None,
    console: Console | None = None,
) -> dict[str, dict[str, Any]]:
    """Run each policy on a fresh database with the same buyers; write `kpis.json` and `index.html`."""
    scenario = load_scenario(scenario_path, days=days, seed=seed, drain_days=drain_days, warmup_days=warmup_days)
    if orders_per_day is not None:
        scenario = scenario.model_copy(
            update={"demand": scenario.demand.model_copy(update={"orders_per_day": orders_per_day})}
        )
    for name in policies:
        if name not in POLICIES:
            raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")
    demand = arrivals(scenario)
    base = server_url(data_dir, database_url)
    console = console or Console()
    results: dict[str, dict[str, Any]] = {}
    by_buyer: dict[str, dict[int, list[Any]]] = {}
    factories: list[dict[str, Any]] = []
    total_days = scenario.warmup_days + scenario.days + scenario.drain_days
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        for name in policies:
            task = bar.add_task(f"{name:>15}", total=total_days, status=f"{len(demand)} buyers to come")

            def tick(day: int, record: Record, closed: dict[str, int], task: Any = task) -> None:
                judged = sum(closed.values())
                rate = f"{closed.get('delivered', 0) / judged:.1%}" if judged else "—"
                bar.update(
                    task,
                    completed=day,
                    status=f"day {day}/{total_days}  orders {len(record.orders)}  "
                    f"walked {sum(record.walk_aways.values())}  kept so far {rate}",
                )

            sim = Simulation(scenario, scenario_path, name, base, data_dir)
            platform = sim.run(demand, tick)
            results[name] = kpi.compute(platform, sim.record, scenario.start, scenario.days)
            by_buyer[name] = results[name].pop("cost_by_buyer")
            if not factories:
                with platform.uow() as uow:
                    factories = [
                        {"id": f.id, "lat": f.lat, "lon": f.lon, "region": f.region}
                        for f in uow.session.query(FactoryRow).order_by(FactoryRow.id)
                    ]
            platform.engine.dispose()
    kpi.same_buyers(results, by_buyer)
    report.write(out, results, factories, scenario.name)
    return results
