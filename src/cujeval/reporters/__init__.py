"""Reporters read a RunResult and write one view of it. Each runs in isolation: one that fails
is reported and the others (and the results on disk) are unaffected."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cujeval._util.redact import redact
from cujeval.spec.results import RunResult

if TYPE_CHECKING:
    from cujeval.tracking.worker import Tracking


def write_all(
    result: RunResult,
    directory: Path,
    *,
    mlflow: bool = True,
    console: bool = True,
    tracking: Tracking | None = None,
    tracking_uri: str | None = None,
) -> list[str]:
    """results.json first (the record every other view and `cujeval log` reads), then the
    other views, each in isolation. Returns failure notes. MLflow logging goes through
    ``tracking`` (a worker process that has MLflow loaded already) when given."""
    from cujeval.reporters import html, junit, markdown

    directory.mkdir(parents=True, exist_ok=True)
    result.write(directory)
    steps: list[tuple[str, Callable[[], object]]] = []
    if result.load is not None:  # before MLflow, which logs it with the rest
        from cujeval.reporters import load as load_report

        steps.append(("load", lambda: load_report.write(result, directory)))
    steps += [
        ("junit", lambda: junit.write(result, directory)),
        ("markdown", lambda: markdown.write(result, directory)),
        ("html", lambda: html.write(result, directory)),
    ]
    if console:
        from cujeval.reporters import console as console_reporter

        steps.append(("console", lambda: console_reporter.render(result)))
    if mlflow:

        def to_mlflow() -> None:
            from cujeval.tracking.worker import Tracking

            worker = tracking or Tracking(tracking_uri, spawn=False)
            run_id, uri = worker.log(result, directory)
            print(
                redact(f"mlflow: run {run_id} in experiment {result.suite!r} at {uri}"),
                file=sys.stderr,
            )

        steps.append(("mlflow", to_mlflow))
    failures = []
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # one reporter must not lose the run
            note = f"{name} reporter failed: {type(exc).__name__}: {str(exc)[:300]}"
            if name == "mlflow":
                note += (
                    f"; results are on disk in {directory}: "
                    f"log them later with `cujeval log {directory}`"
                )
            failures.append(note)
            print(redact(f"warning: {note}"), file=sys.stderr)
    return failures
