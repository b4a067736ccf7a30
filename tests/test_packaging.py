"""The built wheel carries the bundled suites and datasets: `cujeval demo` runs in an empty
folder from the installed wheel alone (not from this checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_runs_the_demo_in_an_empty_folder(tmp_path: Path) -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "w"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "w").glob("cujeval-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "cujeval/_bundled/suites/support_rag.yaml" in names
    assert "cujeval/_bundled/datasets/helpcentre/articles.jsonl" in names
    target = tmp_path / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = "import cujeval._util.paths as p; print(p.project_root())"
    where = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=empty, capture_output=True, text=True
    )
    assert where.stdout.strip() == str(target / "cujeval" / "_bundled")
    r = subprocess.run(
        [sys.executable, "-m", "cujeval.cli", "demo", "--no-mlflow", "--no-progress", "--limit=3"],
        env=env,
        cwd=empty,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr
    assert list((empty / "reports" / "support_rag").glob("*/results.json"))
