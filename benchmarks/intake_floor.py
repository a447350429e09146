"""The floor under the intake benchmark: the least an HTTP order endpoint can do on this stack.

One FastAPI route, served by the same uvicorn workers and driven by the same clients as meshfab's
``POST /v1/orders``, that parses the JSON body and inserts one row per request through SQLAlchemy on the same
PostgreSQL server, with no auth, no idempotency and no capacity. Its requests per second, divided by pgbench's
single-row TPS, is the highest ratio any order intake written on FastAPI + SQLAlchemy can reach on this
machine: it separates what meshfab's order path costs from what the machine and the stack allow.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["MESHFAB_DATABASE_URL"], pool_size=int(os.environ.get("MESHFAB_POOL_SIZE", "8")))
app = FastAPI()
INSERT = text("INSERT INTO bench_insert (payload) VALUES (:payload)")


@app.get("/readyz")
def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/v1/orders", status_code=201)
def place(body: dict[str, Any]) -> dict[str, str]:
    order_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(INSERT, {"payload": order_id})
    return {"id": order_id}
