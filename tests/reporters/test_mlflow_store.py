"""A fresh SQLite tracking store (cujeval.tracking.store) is the store MLflow makes itself, row
for row and table for table; it comes from the user cache once built; and two processes that
open a store not made yet both get it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cujeval.tracking import store
from cujeval.tracking.history import client

VOLATILE = {"creation_time", "last_update_time"}  # of the Default experiment: when it was made


def _clauses(sql: str | None) -> tuple[str, ...]:
    """A CREATE statement's clauses in sorted order: MLflow's own migrations write a table's
    constraints in an order that changes from one run to the next (a set's order)."""
    if sql is None:
        return ()
    return tuple(sorted(line.strip().rstrip(",").strip() for line in sql.splitlines()))


def _content(path: Path) -> dict[str, Any]:
    con = sqlite3.connect(path)
    master = con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
    out: dict[str, Any] = {
        "schema": sorted((t, n, tbl, _clauses(sql)) for t, n, tbl, sql in master),
        "journal_mode": con.execute("PRAGMA journal_mode").fetchone(),
    }
    for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        names = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        keep = ", ".join(n for n in names if n not in VOLATILE)
        out[table] = sorted(con.execute(f"SELECT {keep} FROM {table}"))
    con.close()
    return out


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # the Default experiment's artifact folder
    return store.cache_dir()


def test_a_prepared_store_is_the_store_mlflow_makes(tmp_path: Path, cache: Path) -> None:
    ours = tmp_path / "ours" / "mlflow.db"
    store.prepare(f"sqlite:///{ours}")
    assert ours.exists() and list(cache.glob("store-mlflow*.db"))
    from mlflow.tracking import MlflowClient

    MlflowClient(f"sqlite:///{ours}").search_experiments()
    theirs = tmp_path / "theirs.db"
    MlflowClient(f"sqlite:///{theirs}").search_experiments()  # MLflow's own migrations
    assert _content(ours) == _content(theirs)
    assert not list(ours.parent.glob(".*.tmp"))


def test_the_cache_serves_later_stores(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.prepare(f"sqlite:///{tmp_path / 'a.db'}")

    def no_build(path: Path) -> None:
        raise AssertionError("built again")

    monkeypatch.setattr(store, "_build", no_build)
    c = client(f"sqlite:///{tmp_path / 'b.db'}")
    assert c.create_experiment("x")
    existing = tmp_path / "a.db"
    before = existing.stat().st_mtime_ns
    store.prepare(f"sqlite:///{existing}")  # a store that exists is left alone
    assert existing.stat().st_mtime_ns == before
    assert store.sqlite_path("http://127.0.0.1:5000") is None
    assert store.sqlite_path("sqlite:///:memory:") is None


def test_two_processes_opening_a_new_store_both_get_it(tmp_path: Path, cache: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    code = (
        "import sys; from cujeval.tracking.history import client; "
        "c = client(sys.argv[1]); c.search_experiments(); print('ok')"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, uri], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and outs == ["ok\n", "ok\n"]
