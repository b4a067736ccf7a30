"""Quiet output: what MLflow, SQLAlchemy and alembic say on their own (INFO lines, warnings,
"Downloading artifacts" progress bars) stays out of cujeval's console, in the command and in
its MLflow worker; ``--verbose`` lets it through."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.helpers import cujeval, write_suite

LEAKS = ("Downloading artifacts", "INFO", "Warning:", "SADeprecationWarning", "alembic", "it/s]")


def leaks(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(x in line for x in LEAKS)]


def test_mlflow_stays_out_of_the_console(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/answer", n=6)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'fresh.db'}",
        "PYTHONWARNINGS": "default",  # every warning shown, as a developer's shell may
    }
    env.pop("CUJEVAL_VERBOSE", None)
    runs = []
    for name in ("a", "b"):
        r = cujeval("run", str(suite), "-o", str(tmp_path / name), "--no-progress", env=env)
        assert r.returncode == 0, r.stderr
        assert leaks(r.stderr) == [] and leaks(r.stdout) == [], r.stderr
        runs.append(json.loads((tmp_path / name / "results.json").read_text())["run_id"])
    for args in (
        ("compare", *runs),
        ("budget", str(suite)),
        ("report", str(suite), "-o", str(tmp_path / "h.html")),
    ):
        r = cujeval(*args, env=env)
        assert r.returncode == 0, r.stderr
        assert leaks(r.stderr) == [] and leaks(r.stdout) == [], (args, r.stderr)
    r = cujeval("compare", *runs, "--no-log", "--verbose", env=env)  # after the command
    assert r.returncode == 0, r.stderr
    assert "Downloading artifacts" in r.stderr
