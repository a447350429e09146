"""Configuration from the environment (`MESHFAB_*`), one object for the whole process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MESHFAB_", extra="ignore")

    database_url: str | None = None
    data_dir: Path = Path(platformdirs.user_data_dir("meshfab"))
    host: str = "127.0.0.1"
    port: int = 8000
    pool_size: int = 10
    idempotency_hours: int = 24
    offer_minutes: int = 15
    horizon_days: int = 60
    capacity_ttl_seconds: float = 2.0
    """wall seconds the in-memory capacity view may lag writes made by other processes (see `CapacityView`)"""
    handover_margin_minutes: int = 0
    """promises ship at a cutoff only if the line is planned ready this long before it"""
    transit_quantile: float = Field(0.98, gt=0.5, lt=1.0)
    """the share of a lane's parcels its allowance must cover, once learnt from deliveries: a promise is kept at
    best this often on the road alone (the stated figures are p95s; see `services.lane_learning`)"""
    replan_minutes: float = 5.0
    replan_seconds: float = 5.0
    replan_horizon_days: int = 30
    replan_lateness_per_day: int = Field(5_000, ge=0)
    """minor units a re-plan charges per day a line would arrive past its promise (plus the square term below).

    Factory costs are minor units per minute, so this must outweigh what a move can save: at 50 (the engine's
    unit-free default) a re-plan broke promises by days to save a few dollars of production."""
    replan_lateness_per_day_squared: int = Field(1_000, ge=0)
    replan_move: int = Field(200, ge=0)
    """minor units per line moved to another factory: a move re-picks materials and is a new risk to the date"""
    schedule_minutes: float = 10.0
    """`meshfab serve` schedules the factories with new orders this often (0: only when asked); a scrap's
    replacement lot is scheduled at once"""
    schedule_seconds: float = 3.0
    schedule_seconds_per_operation: float = 0.0
    """above 0: a factory's solve gets this many seconds per operation (at least 0.1), `schedule_seconds` at most"""
    schedule_search_backoff: int = Field(0, ge=0)
    """above 0: a factory whose CP-SAT search did not beat its starting schedule skips the search on its next
    solve, on twice as many after each further miss in a row, up to this many; a search that helps ends it"""
    schedule_release_days: float | None = Field(4.0, gt=0)
    """a factory's schedule takes the work due within this many days, and more while a workcenter has room in
    them; the rest waits for a later schedule (`engines.scheduling.release`). None: every open line"""
    schedule_workers: int = 2
    """factory schedules solved at once when several are due together (after a re-plan, in the twin)"""
    deterministic_solvers: bool = False
    """count solver time limits in CP-SAT's deterministic time, not on the clock: the same inputs then give the
    same plans however loaded the machine is, at the price of limits that are only roughly seconds. For runs
    that must replay exactly (the digital twin: same seed, same KPIs); a server answers on the clock."""
    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()
