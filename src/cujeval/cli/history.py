"""``cujeval budget``, ``cujeval compare`` and ``cujeval tag``: the history MLflow keeps."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cujeval.cli.app import _guard, app

TrackingOpt = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else the local store).",
    ),
]


class FailOn(StrEnum):
    never = "never"
    exhausted = "exhausted"
    alert = "alert"


class TriggerName(StrEnum):
    manual = "manual"
    ci = "ci"
    nightly = "nightly"


@app.command()
def budget(
    suite: Annotated[Path, typer.Argument(help="Suite YAML file.", show_default=False)],
    window: Annotated[
        int | None,
        typer.Option("--window", min=1, help="Runs in the window (default: the suite's, 28)."),
    ] = None,
    trigger: Annotated[
        TriggerName | None,
        typer.Option("--trigger", help="Count only runs of this trigger (e.g. nightly)."),
    ] = None,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on", help="Exit 1 when a budget is exhausted, or when any alert fires."
        ),
    ] = FailOn.never,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Error budgets per journey and SLO over the last runs logged to MLflow.

    For each: the budget left (cases and share), the burn rate of the last run and of the
    slow window, the burn-rate alert, and the run that spent most."""

    def go() -> int:
        from cujeval.spec.budget import DEFAULT_POLICY
        from cujeval.spec.suite import load_suite
        from cujeval.tracking.history import budget_states, client, read_journeys, shown_uri

        loaded = load_suite(suite)
        policy = loaded.budget or DEFAULT_POLICY
        update: dict[str, object] = {}
        if window is not None:
            update["window"] = window
        if trigger is not None:
            update["trigger"] = trigger.value
        policy = policy.model_copy(update=update)
        c = client(tracking_uri)
        records = read_journeys(c, loaded.name, trigger=policy.trigger, runs=policy.window)
        states = budget_states(loaded, records, policy=policy)
        print(
            f"{loaded.name}: error budgets over the last {policy.window} run(s)"
            f"{' of trigger ' + policy.trigger if policy.trigger else ''} "
            f"({len({r.run_id for r in records})} found in MLflow at {shown_uri(c)})"
        )
        print(render_budgets(states, policy.slow_window))
        exhausted = [s for s in states if s.exhausted]
        alerting = [s for s in states if s.alert != "none"]
        if exhausted or alerting:
            print(
                f"{len(exhausted)} budget(s) exhausted, {len(alerting)} alerting", file=sys.stderr
            )
        if fail_on is FailOn.exhausted and exhausted:
            return 1
        if fail_on is FailOn.alert and (exhausted or alerting):
            return 1
        return 0

    _guard(go)


def render_budgets(states: Sequence[object], slow_window: int) -> str:
    from cujeval.core.budget import BudgetState

    rows = [
        (
            "journey/slo",
            "target",
            "runs",
            "cases",
            "bad",
            "budget",
            "left",
            "left %",
            "burn last",
            f"burn {slow_window}",
            "alert",
            "spent most",
        )
    ]
    for s in states:
        if not isinstance(s, BudgetState):
            continue
        worst = "-"
        if s.worst is not None:
            share = f", {s.worst_share:.0%} of budget" if s.worst_share is not None else ""
            worst = f"{s.worst.run_id} ({s.worst.bad:g} bad{share})"
        rows.append(
            (
                f"{s.journey}/{s.slo}",
                f"{s.target:.1%}",
                str(s.runs),
                f"{s.cases:g}",
                f"{s.bad:g}",
                f"{s.budget:.3g}",
                f"{s.remaining:.3g}",
                "EXHAUSTED"
                if s.exhausted
                else (f"{s.remaining_share:.0%}" if s.remaining_share is not None else "n/a"),
                _burn(s.burn_last),
                _burn(s.burn_slow),
                s.alert,
                worst,
            )
        )
    if len(rows) == 1:
        return "  (no SLO with a budget, or no run logged yet)"
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    )


def _burn(x: float) -> str:
    return "inf" if x == float("inf") else f"{x:.2f}"


@app.command()
def compare(
    baseline: Annotated[
        str, typer.Argument(help="Baseline: MLflow run id, tag:NAME, or results.json path.")
    ],
    candidate: Annotated[
        str, typer.Argument(help="Candidate: MLflow run id, tag:NAME, or results.json path.")
    ],
    suite: Annotated[
        Path | None,
        typer.Option("--suite", help="Suite whose SLOs and policy to use (default: as recorded)."),
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Write the Markdown (a PR comment) here.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write compare.json and compare.md here.")
    ] = None,
    detect: Annotated[
        float | None,
        typer.Option(
            "--detect",
            min=0.0001,
            max=1,
            help="The drop to size the power figure for (default: the allowed drop, else 0.05).",
        ),
    ] = None,
    log: Annotated[
        bool,
        typer.Option(
            "--log/--no-log", help="Log the comparison to the candidate's MLflow run (if any)."
        ),
    ] = True,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Compare two recorded runs case by case: REGRESSED / IMPROVED / NO CHANGE / INCONCLUSIVE
    per SLO.

    McNemar's exact test for good/bad SLOs, the paired bootstrap for aggregates; INCONCLUSIVE
    when too few cases pair to see the allowed drop. Exit 1 when an SLO regressed beyond the
    allowed drop, 2 when the runs share no case, else 0."""

    def go() -> int:
        import tempfile

        from cujeval.core.compare import compare_runs
        from cujeval.spec.suite import load_suite
        from cujeval.tracking.history import client, guard, load_run

        spec = load_suite(suite) if suite is not None else None
        base = load_run(baseline, tracking_uri=tracking_uri)
        cand = load_run(candidate, tracking_uri=tracking_uri)
        report = compare_runs(base, cand, suite=spec, detect=detect)
        print(report.to_text())
        if markdown is not None:
            markdown.parent.mkdir(parents=True, exist_ok=True)
            markdown.write_text(report.to_markdown(), encoding="utf-8")
        if output is not None:
            report.write(output)
        if log and cand.mlflow_run_id is not None:
            c = client(tracking_uri)
            with guard(c, "logging the comparison"), tempfile.TemporaryDirectory() as tmp:
                report.write(Path(tmp))
                short = (base.mlflow_run_id or base.result.run_id)[:12]
                c.log_artifacts(cand.mlflow_run_id, tmp, artifact_path=f"compare/{short}")
        return report.exit_code

    _guard(go)


@app.command()
def tag(
    run: Annotated[str, typer.Argument(help="MLflow run id, cujeval run id, or tag:NAME.")],
    name: Annotated[
        str, typer.Argument(help="The tag, e.g. release (then --baseline tag:release).")
    ],
    tracking_uri: TrackingOpt = None,
) -> None:
    """Mark a logged run as tag:NAME (e.g. the last release) for baselines.

    The tag moves off any other run of the suite; `--baseline tag:NAME` and `cujeval compare
    tag:NAME ...` then find this run."""

    def go() -> int:
        from cujeval.tracking.history import tag_run

        run_id = tag_run(run, name, tracking_uri=tracking_uri)
        print(f"tagged MLflow run {run_id} as tag:{name}")
        return 0

    _guard(go)
