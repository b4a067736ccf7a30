"""The console table: SLO, estimate, interval, target, verdict, worst cases; then the gate."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from cujeval.reporters.format import interval, number, objective, sentence, worst
from cujeval.results import RunResult

_STYLE = {"MET": "green", "BREACHED": "bold red", "INCONCLUSIVE": "yellow"}


def render(result: RunResult, console: Console | None = None) -> None:
    console = console or Console()
    for journey in result.journeys:
        table = Table(
            title=f"{result.suite} / {journey.name}  ({journey.n_rows} cases, "
            f"{journey.n_errors} errors, {journey.target})",
            title_justify="left",
        )
        for col in ("SLO", "objective", "estimate", "interval", "n", "verdict", "worst cases"):
            table.add_column(col, overflow="fold")
        for slo in journey.slos:
            table.add_row(
                slo.name,
                objective(slo),
                number(slo.estimate, ratio=slo.kind != "aggregate"),
                interval(slo),
                str(slo.n),
                f"[{_STYLE[slo.verdict]}]{slo.verdict}[/]",
                worst(slo) if slo.verdict != "MET" else "",
            )
        console.print(table)
    gate = result.gate
    if result.status == "aborted":
        console.print(f"[bold red]RUN ABORTED[/]: {result.abort_reason} (finished cases kept)")
    for journey in result.journeys:
        for slo in journey.slos:
            if slo.verdict != "MET":
                console.print(sentence(journey.name, slo), markup=False, highlight=False)
    verdict = "[bold green]PASSED[/]" if gate.passed else "[bold red]FAILED[/]"
    console.print(f"gate {verdict} ({gate.policy}); exit code {gate.exit_code}")
