"""``cujeval report``: a suite's history as one self-contained HTML page."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cujeval.cli.app import _guard, app
from cujeval.cli.history import TrackingOpt


@app.command()
def report(
    suite: Annotated[Path, typer.Argument(help="Suite YAML file.", show_default=False)],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the page here (default: reports/SUITE/history.html)."
        ),
    ] = None,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Draw the suite's history from MLflow as one HTML page that loads nothing.

    Per journey and SLO, the estimate and its interval over the last runs against the target;
    each error budget's burn-down with the alert thresholds and the runs that spent most; the
    last comparison with a baseline. Exit 2 when MLflow holds no run of the suite, 3 when its
    history cannot be read."""

    def go() -> int:
        from cujeval.errors import InputError, ReporterError
        from cujeval.reporters.history import write
        from cujeval.spec.suite import load_suite
        from cujeval.tracking.history import TrackingUnavailable
        from cujeval.tracking.trends import read

        loaded = load_suite(suite)
        try:
            history = read(loaded, tracking_uri=tracking_uri)
        except TrackingUnavailable:
            raise
        except ReporterError as exc:
            raise TrackingUnavailable(f"the history cannot be read: {exc}") from None
        if not history.trends:
            raise InputError(
                f"no completed run of suite {loaded.name!r} in {history.source}: log runs with "
                "`cujeval run` (MLflow on), or name the store with --tracking-uri"
            )
        path = output or Path("reports") / loaded.name / "history.html"
        write(history, path)
        print(f"{path}: {history.runs} run(s) of {loaded.name} from {history.source}")
        for b in history.burns:
            if b.state.exhausted or b.state.alert != "none":
                from cujeval.tracking.ledger import describe

                print(f"budget: {describe(b.state)}", file=sys.stderr)
        return 0

    _guard(go)
