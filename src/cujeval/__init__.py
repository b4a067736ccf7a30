"""cujeval: SLOs, error budgets and release gates for the AI quality of critical user journeys.

The public API, imported lazily so ``import cujeval`` stays cheap::

    import cujeval

    suite = cujeval.load_suite("suites/support_rag.yaml")
    result = cujeval.evaluate_sync(suite, cujeval.RunOptions(output_dir="reports/x"))
    # or, inside a running event loop: result = await cujeval.evaluate(suite, options)
    print(result.gate.passed, result.gate.exit_code)

``evaluate`` is the one pipeline every door calls (checks, run, verdicts, error budgets and
baselines, the gate, the reports); ``run`` and ``run_sync`` are its older names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_suite": "cujeval.spec.suite",
    "Suite": "cujeval.spec.suite",
    "Settings": "cujeval.spec.suite",
    "RunOptions": "cujeval.spec.options",
    "evaluate": "cujeval.pipeline",
    "evaluate_sync": "cujeval.pipeline",
    "run": "cujeval.pipeline",
    "run_sync": "cujeval.pipeline",
    "RunResult": "cujeval.spec.results",
    "GoldenCase": "cujeval.spec.records",
    "Observation": "cujeval.spec.records",
    "Score": "cujeval.scorers.base",
    "scorer": "cujeval.scorers.base",
    "register_target": "cujeval.targets",
    "Verdict": "cujeval.core.slo",
    "CujevalError": "cujeval.errors",
    "InputError": "cujeval.errors",
    "RunAborted": "cujeval.errors",
}

__all__ = [
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
    "register_target",
    "run",
    "run_sync",
    "scorer",
]

if TYPE_CHECKING:
    from cujeval.core.slo import Verdict
    from cujeval.errors import CujevalError, InputError, RunAborted
    from cujeval.pipeline import evaluate, evaluate_sync, run, run_sync
    from cujeval.scorers.base import Score, scorer
    from cujeval.spec.options import RunOptions
    from cujeval.spec.records import GoldenCase, Observation
    from cujeval.spec.results import RunResult
    from cujeval.spec.suite import Settings, Suite, load_suite
    from cujeval.targets import register_target


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cujeval' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
