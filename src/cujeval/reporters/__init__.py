"""Reporters read a RunResult and write one view of it. Each runs in isolation: one that fails
is reported and the others (and the results on disk) are unaffected."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from cujeval.results import RunResult


def write_all(
    result: RunResult, directory: Path, *, mlflow: bool = True, console: bool = True
) -> list[str]:
    """results.json first (the record every other view and `cujeval log` reads), then the
    other views, each in isolation. Returns failure notes."""
    from cujeval.reporters import html, junit, markdown

    directory.mkdir(parents=True, exist_ok=True)
    result.write(directory)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("junit", lambda: junit.write(result, directory)),
        ("markdown", lambda: markdown.write(result, directory)),
        ("html", lambda: html.write(result, directory)),
    ]
    if console:
        from cujeval.reporters import console as console_reporter

        steps.append(("console", lambda: console_reporter.render(result)))
    if mlflow:
        from cujeval.reporters import mlflow as mlflow_reporter

        def to_mlflow() -> None:
            run_id = mlflow_reporter.log(result, directory)
            print(
                f"mlflow: run {run_id} in experiment {result.suite!r} at "
                f"{mlflow_reporter.tracking_uri()}",
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
            print(f"warning: {note}", file=sys.stderr)
    return failures
