"""The curated public API: what ``import cujeval`` offers, pinned, and cheap to import."""

from __future__ import annotations

import subprocess
import sys

import cujeval

EXPECTED = {
    "CujevalError",
    "GoldenCase",
    "InputError",
    "Observation",
    "RunAborted",
    "RunOptions",
    "RunResult",
    "Score",
    "Settings",
    "Suite",
    "Verdict",
    "__version__",
    "evaluate",
    "evaluate_sync",
    "load_suite",
    "run",
    "register_target",
    "run_sync",
    "scorer",
}


def test_exported_members() -> None:
    assert set(cujeval.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(cujeval, name) is not None


def test_run_is_the_one_pipeline() -> None:
    """``run`` and ``run_sync`` are the pipeline's older names, not a second path."""
    assert cujeval.run is cujeval.evaluate and cujeval.run_sync is cujeval.evaluate_sync


def test_import_is_lazy() -> None:
    code = "import sys, cujeval; print(sorted(m for m in sys.modules if m.startswith('cujeval')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['cujeval']"


def test_all_matches_the_lazy_exports() -> None:
    assert set(cujeval.__all__) - {"__version__"} == set(cujeval._EXPORTS)
