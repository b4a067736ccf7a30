"""The console table (SLO, objective, estimate, interval, n, verdict), then one sentence for
each SLO that is not MET (with its worst cases), then the gate. Everything it shows is
redacted first: the table folds long cells, which would cut a secret in two."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from cujeval.reporters.format import interval, number, objective, sentence
from cujeval.spec.results import RunResult

_STYLE = {
    "MET": "green",
    "BREACHED": "bold red",
    "INCONCLUSIVE": "yellow",
    "NO_DATA": "bold magenta",
}


def render(result: RunResult, console: Console | None = None) -> None:
    result = result.redacted()
    console = console or Console(width=None if sys.stdout.isatty() else 120)
    for journey in result.journeys:
        table = Table(
            title=f"{result.suite} / {journey.name}  ({journey.n_rows} cases, "
            f"{journey.n_errors} errors, {journey.target})",
            title_justify="left",
        )
        for col in ("SLO", "objective", "estimate", "interval", "n", "verdict"):
            table.add_column(col, overflow="fold", no_wrap=col in ("verdict", "estimate"))
        for slo in journey.slos:
            table.add_row(
                slo.name,
                objective(slo),
                number(slo.estimate, ratio=slo.kind != "aggregate"),
                interval(slo),
                str(slo.n),
                f"[{_STYLE[slo.verdict]}]{slo.verdict}[/]",
            )
        console.print(table)
    gate = result.gate
    for note in result.notes:
        console.print(note, markup=False, highlight=False)
    for journey in result.journeys:
        if journey.scorer_errors:
            listing = ", ".join(f"{k}: {v}" for k, v in journey.scorer_errors.items())
            console.print(
                f"[bold red]scorer errors[/] in {journey.name}: {listing} "
                "(see the journal's rows for the messages)"
            )
    for journey in result.journeys:
        if journey.judge:
            from cujeval.scorers.judges.summary import describe

            console.print(
                f"{journey.name}: {describe(journey.judge)}", markup=False, highlight=False
            )
    if result.status == "aborted":
        console.print(f"[bold red]RUN ABORTED[/]: {result.abort_reason} (finished cases kept)")
    if result.canary is not None:
        from cujeval.core.compare import Report

        console.print(Report.from_dict(result.canary).to_text(), markup=False, highlight=False)
    for journey in result.journeys:
        for slo in journey.slos:
            if slo.verdict != "MET":
                console.print(sentence(journey.name, slo), markup=False, highlight=False)
    verdict = "[bold green]PASSED[/]" if gate.passed else "[bold red]FAILED[/]"
    if gate.blocking:
        console.print("blocking: " + "; ".join(gate.blocking), markup=False, highlight=False)
    console.print(f"gate {verdict} ({gate.policy}); exit code {gate.exit_code}")
