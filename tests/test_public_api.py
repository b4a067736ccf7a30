"""The curated public API: what ``import cujeval`` offers, pinned, and cheap to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

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


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("cujeval.suite", "cujeval.spec.suite", "load_suite"),
        ("cujeval.options", "cujeval.spec.options", "RunOptions"),
        ("cujeval.results", "cujeval.spec.results", "RunResult"),
        ("cujeval.records", "cujeval.spec.records", "GoldenCase"),
        ("cujeval.dataset", "cujeval.spec.dataset", "iter_cases"),
        ("cujeval.slo", "cujeval.core.slo", "Verdict"),
        ("cujeval.executors", "cujeval.engine.executors", "build_executor"),
    ],
)
def test_moved_modules_forward_with_a_deprecation_warning(old: str, new: str, name: str) -> None:
    code = (
        "import warnings, importlib\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        f"    old = importlib.import_module({old!r})\n"
        f"new = importlib.import_module({new!r})\n"
        f"assert getattr(old, {name!r}) is getattr(new, {name!r})\n"
        "print([str(w.message) for w in seen if w.category is DeprecationWarning])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert f"{old} moved to {new}" in out.stdout


def test_the_old_runner_names_reach_the_one_pipeline() -> None:
    with pytest.warns(DeprecationWarning, match="cujeval.pipeline"):
        from cujeval.runner import run_sync
    assert run_sync is cujeval.evaluate_sync
