"""The embedded PostgreSQL a run starts in its own folder can be stopped before the folder goes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from meshfab.store.database import embedded_server_url, stop_embedded_server


def _alive(pid: int) -> bool:
    """Running, and not a zombie left for its parent to reap (the server may be a child of this process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(bool(os.environ.get("MESHFAB_TEST_DATABASE_URL")), reason="the suite runs on an outside server")
def test_a_server_started_in_a_folder_is_stopped_by_it() -> None:
    # not pytest's tmp_path: the server runs as its own user when the suite runs as root (see conftest)
    folder = Path(tempfile.mkdtemp(prefix="meshfab-test-stop-"))
    embedded_server_url(folder, "scratch")
    pid = int((folder / "pgdata" / "postmaster.pid").read_text().split()[0])
    assert _alive(pid)
    stop_embedded_server(folder / "pgdata")
    assert not (folder / "pgdata" / "postmaster.pid").exists()
    assert not _alive(pid)


def test_stopping_where_no_server_runs_does_nothing(tmp_path: Path) -> None:
    stop_embedded_server(tmp_path / "pgdata")  # no folder at all
    (tmp_path / "pgdata").mkdir()
    (tmp_path / "pgdata" / "postmaster.pid").write_text("not a pid\n")
    stop_embedded_server(tmp_path / "pgdata")  # an unreadable pid file
    assert (tmp_path / "pgdata" / "postmaster.pid").exists()
