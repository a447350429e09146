"""The `meshfab` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from meshfab.bootstrap import DEMO_DIR, database_url, open_platform, operator_key
from meshfab.domain.errors import DomainError, InvalidInput
from meshfab.domain.principals import Principal
from meshfab.services.keys import create_key
from meshfab.services.world import is_empty, load_world
from meshfab.settings import get_settings
from meshfab.store import migrate

app = typer.Typer(help="meshfab: Made-in-Internet manufacturing platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
console = Console()


def _fail(exc: DomainError) -> None:
    console.print(f"[red]error:[/red] {exc.detail}")
    if isinstance(exc, InvalidInput):
        for problem in exc.problems:
            console.print(f"  - {problem.msg}")
    raise typer.Exit(code=1)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    demo: Annotated[bool, typer.Option(help="Load examples/yiwu when the database is empty.")] = False,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Migrate, optionally seed the demo world, and serve the HTTP API."""
    import uvicorn

    from meshfab.api.observability import configure_logging

    settings = get_settings()
    platform = open_platform(settings)
    if demo and is_empty(platform):
        try:
            counts = load_world(platform, DEMO_DIR)
        except DomainError as exc:
            _fail(exc)
        console.print(f"loaded demo world: {counts}")
    key = operator_key(platform)
    host, port = host or settings.host, port or settings.port
    console.print(f"operator API key: [bold]{key}[/bold]")
    console.print(f"API docs: http://{host}:{port}/docs   OpenAPI: http://{host}:{port}/openapi.json")
    configure_logging(settings.log_level)
    if workers > 1:
        import os

        os.environ["MESHFAB_DATABASE_URL"] = database_url(settings)
        uvicorn.run("meshfab.api.main:app", host=host, port=port, workers=workers, access_log=False)
    else:
        from meshfab.api.app import create_app

        uvicorn.run(create_app(platform, background=True), host=host, port=port, access_log=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    migrate.upgrade(database_url(get_settings()))
    console.print(f"database at revision {migrate.head_revision()}")


@app.command()
def load(
    directory: Annotated[Path, typer.Argument(help="Folder with templates/factories/lanes/merchants .yaml")],
) -> None:
    """Validate and load a world from YAML (all or nothing)."""
    platform = open_platform(get_settings())
    try:
        counts = load_world(platform, directory)
    except DomainError as exc:
        _fail(exc)
    console.print(f"loaded {counts}")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="operator | factory:<id> | merchant:<id>")],
    label: Annotated[str, typer.Option(help="A note to recognise the key by.")] = "",
) -> None:
    """Create an API key and print it (it is stored hashed and never shown again)."""
    platform = open_platform(get_settings())
    try:
        key = create_key(platform, Principal.parse(role), label=label)
    except DomainError as exc:
        _fail(exc)
    console.print(key, soft_wrap=True, highlight=False)


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Option(help="Scenario YAML.")] = DEMO_DIR / "scenario.yaml",
    days: Annotated[int | None, typer.Option(help="Days of demand (default: the scenario's).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: the scenario's).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for index.html and kpis.json.")] = Path("report"),
    policy: Annotated[str, typer.Option(help="meshfab | nearest | fixed-lead-time")] = "meshfab",
    compare: Annotated[bool, typer.Option(help="Run every policy on the same demand.")] = False,
    orders_per_day: Annotated[float | None, typer.Option(help="Override the base demand rate.")] = None,
    warmup_days: Annotated[
        int | None,
        typer.Option(min=0, help="Days run before the measured ones (default: the scenario's; 0: cold start)."),
    ] = None,
) -> None:
    """Run the digital twin: the platform's own services on a simulated clock, one fresh database per policy."""
    from meshfab.sim.main import simulate as run_simulation
    from meshfab.sim.policies import POLICIES

    try:
        results = run_simulation(
            scenario,
            out,
            policies=list(POLICIES) if compare else [policy],
            days=days,
            seed=seed,
            orders_per_day=orders_per_day,
            warmup_days=warmup_days,
            data_dir=get_settings().data_dir,
            console=console,
        )
    except DomainError as exc:
        _fail(exc)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from None
    for name, k in results.items():
        console.print(
            f"{name}: orders {k['orders']}, walk-aways {k['walk_aways']}, kept {k['promise_kept_rate']}, "
            f"cost/unit {k['cost_per_unit']}"
        )
    console.print(f"report: {out / 'index.html'}")
