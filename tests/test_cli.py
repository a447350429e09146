"""The `meshfab` command: help everywhere, keys, load, db upgrade — against the test database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshfab.bootstrap import DEMO_DIR
from meshfab.cli import app
from meshfab.services.keys import authenticate
from meshfab.services.platform import Platform
from meshfab.settings import get_settings

runner = CliRunner()


@pytest.fixture
def env(platform: Platform, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Platform:
    monkeypatch.setenv("MESHFAB_DATABASE_URL", database_url)
    monkeypatch.setenv("MESHFAB_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield platform  # type: ignore[misc]
    get_settings.cache_clear()


@pytest.mark.parametrize("args", [[], ["serve"], ["db"], ["db", "upgrade"], ["load"], ["keys"], ["keys", "create"]])
def test_help_everywhere(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_db_upgrade_load_and_keys(env: Platform) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    loaded = runner.invoke(app, ["load", str(DEMO_DIR)])
    assert loaded.exit_code == 0, loaded.output
    made = runner.invoke(app, ["keys", "create", "--role", "factory:yiwu-01"])
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert str(authenticate(env, key)) == "factory:yiwu-01"


def test_keys_for_unknown_subjects_or_roles_fail_cleanly(env: Platform) -> None:
    for role in ["factory:nope", "admin", "merchant:"]:
        result = runner.invoke(app, ["keys", "create", "--role", role])
        assert result.exit_code == 1 and "error" in result.output


def test_loading_a_bad_folder_fails_with_the_problem(env: Platform, tmp_path: Path) -> None:
    (tmp_path / "factories.yaml").write_text("factories:\n  - id: x\n")
    result = runner.invoke(app, ["load", str(tmp_path)])
    assert result.exit_code == 1 and "factories.yaml:2" in result.output
