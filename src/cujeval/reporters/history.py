"""A suite's history as pictures: per journey and SLO the estimate with its interval over runs
against the target, each error budget's burn-down with its alert thresholds and the runs that
spent most, and the last comparison with a baseline. ``cujeval report SUITE`` writes it as a
page of its own (history.html); a run's report.html holds the same section when the history
could be read (cujeval.tracking.trends gathers it from MLflow).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cujeval._util.redact import html_text as escape
from cujeval.core.budget import BudgetState
from cujeval.reporters import svg
from cujeval.reporters.page import page
from cujeval.spec.budget import BudgetPolicy

if TYPE_CHECKING:
    from cujeval.core.compare import ChangedCase

TOP_SPENDERS = 3


@dataclass(frozen=True)
class Trend:
    """One SLO's estimates over runs."""

    journey: str
    slo: str
    objective: str  # as the suite states it
    target: float | None  # the share (ratio SLOs) or the bound (aggregate objectives)
    share: bool  # estimates are shares of cases
    marks: list[svg.Mark]


@dataclass(frozen=True)
class Burn:
    """One SLO's error budget over the window: its state and each run's part."""

    state: BudgetState
    spends: list[svg.Spend]


@dataclass
class History:
    """What the page shows; ``source`` says where it was read (e.g. the MLflow store)."""

    suite: str
    source: str
    runs: int
    policy: BudgetPolicy
    trends: list[Trend] = field(default_factory=list)
    burns: list[Burn] = field(default_factory=list)
    comparison: dict[str, Any] | None = None  # compare.json
    comparison_run: str = ""  # the run it is logged with
    notes: list[str] = field(default_factory=list)


def write(history: History, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(history), encoding="utf-8")
    return path


def render(history: History) -> str:
    """The page ``cujeval report`` writes."""
    head = [
        f"<h1>cujeval · {escape(history.suite)} · history</h1>",
        f"<p class='meta'>{history.runs} run(s) from {escape(history.source)}</p>",
    ]
    return page(f"cujeval {history.suite} history", head + _body(history, level=2))


def section(history: History | None, note: str | None = None) -> str:
    """The history part of a run's report.html: the pictures, or one line saying why not."""
    if history is None:
        return f"<h2>History</h2><p class='muted'>{escape(note or 'history not read')}</p>"
    return "\n".join(
        [
            "<h2 id='history'>History</h2>",
            f"<p class='meta'>this run and {history.runs - 1} before it, from "
            f"{escape(history.source)}</p>",
            *_body(history, level=3),
        ]
    )


def _body(history: History, *, level: int) -> list[str]:
    h = f"h{level}"
    out = [f"<p class='muted'>{escape(n)}</p>" for n in history.notes]
    journeys: list[str] = []
    for t in history.trends:
        if t.journey not in journeys:
            journeys.append(t.journey)
    for journey in journeys:
        charts = [
            svg.trend(
                t.marks,
                title=f"{t.slo}: {t.objective}",
                target=t.target,
                target_text=_target_text(t),
                share=t.share,
                key=f"{t.journey}/{t.slo}",
            )
            for t in history.trends
            if t.journey == journey
        ]
        out.append(f"<{h}>{escape(journey)}: SLOs over runs</{h}>")
        out.append("<div class='charts'>" + "".join(charts) + "</div>")
    if not history.trends:
        out.append("<p class='muted'>no run of this suite found</p>")
    out.append(_budgets(history, h))
    out.append(_comparison(history, h))
    return [part for part in out if part]


def _target_text(t: Trend) -> str:
    if t.target is None:
        return "none"
    return f"{100 * t.target:.1f} %" if t.share else f"{t.target:.4g}"


def _budgets(history: History, h: str) -> str:
    if not history.burns:
        return f"<{h}>Error budgets</{h}><p class='muted'>no SLO with a budget has runs yet</p>"
    p = history.policy
    parts = [
        f"<{h} id='budgets'>Error budgets</{h}>",
        f"<p class='meta'>over the last {p.window} run(s)"
        + (f" of trigger {escape(p.trigger)}" if p.trigger else "")
        + f"; fast alert: one run spends ≥ {p.fast_share:.0%} of the budget and its bad rate is "
        f"surely above the allowed; slow alert: burn rate ≥ {p.slow_burn:g} over the last "
        f"{p.slow_window} run(s)</p>",
        "<table><tr><th>journey / SLO</th><th>target</th><th>runs</th><th>bad / budget</th>"
        "<th>left</th><th>burn last</th><th>burn slow</th><th>alert</th>"
        "<th>spent most</th></tr>",
    ]
    for b in history.burns:
        s = b.state
        left = (
            "EXHAUSTED"
            if s.exhausted
            else (f"{s.remaining_share:.0%}" if s.remaining_share is not None else "n/a")
        )
        cls = "BREACHED" if s.exhausted else ("INCONCLUSIVE" if s.alert != "none" else "")
        parts.append(
            f"<tr class='budget' data-key='{escape(s.journey)}/{escape(s.slo)}'>"
            f"<td>{escape(s.journey)}/{escape(s.slo)}</td><td class='num'>{s.target:.1%}</td>"
            f"<td class='num'>{s.runs}</td><td class='num'>{s.bad:g} / {s.budget:.3g}</td>"
            f"<td class='num {cls}'>{left}</td><td class='num'>{_burn(s.burn_last)}</td>"
            f"<td class='num'>{_burn(s.burn_slow)}</td><td class='{cls}'>{s.alert}</td>"
            f"<td>{_spenders(b, s)}</td></tr>"
        )
    parts.append("</table><div class='charts'>")
    for b in history.burns:
        s = b.state
        parts.append(
            svg.burndown(
                b.spends,
                title=f"{s.journey}/{s.slo}: budget over {s.runs} run(s)",
                target=s.target,
                fast_share=p.fast_share,
                slow_burn=p.slow_burn,
                key=f"{s.journey}/{s.slo}",
            )
        )
    parts.append("</div>")
    return "".join(parts)


def _spenders(b: Burn, s: BudgetState) -> str:
    top = sorted((x for x in b.spends if x.bad > 0), key=lambda x: -x.bad)[:TOP_SPENDERS]
    if not top:
        return "<span class='muted'>none</span>"
    return "<br>".join(
        f"<code class='spender'>{escape(x.label)}</code> {x.bad:g} bad"
        + (f" ({x.bad / s.budget:.0%} of the budget)" if s.budget > 0 else "")
        for x in top
    )


def _burn(x: float) -> str:
    return "∞" if x == float("inf") else f"{x:.2f}"


def _comparison(history: History, h: str) -> str:
    doc = history.comparison
    if doc is None:
        return f"<{h}>Last comparison with a baseline</{h}><p class='muted'>none logged</p>"
    from cujeval.core.compare import Report

    report = Report.from_dict(doc)
    head = "".join(f"<th>{escape(x)}</th>" for x in report.HEADER)
    rows = []
    for row in report.table():
        change = row[1]
        rows.append(
            "<tr>"
            + "".join(
                f"<td class='{escape(change) if i == 1 else ''}'>{escape(cell)}</td>"
                for i, cell in enumerate(row)
            )
            + "</tr>"
        )
    out = [
        f"<{h} id='comparison'>Last comparison with a baseline: {escape(report.summary())}</{h}>",
        f"<p class='meta'>candidate {escape(report.candidate_label)}"
        + (f" (run {escape(history.comparison_run)})" if history.comparison_run else "")
        + f" against baseline {escape(report.baseline_label)}, paired by case id</p>",
        f"<table><tr>{head}</tr>{''.join(rows)}</table>",
    ]
    if report.changed:
        out.append(changed_table(report.changed))
    return "".join(out)


def changed_table(cases: Sequence[ChangedCase]) -> str:
    """The cases that got worse, input and both answers side by side."""
    rows = "".join(
        f"<tr><td><code>{escape(c.journey)}/{escape(c.case_id)}</code><br>"
        f"<span class='muted'>{escape(c.change)}</span></td>"
        f"<td class='text'>{escape(c.input)}</td><td class='answer'>{escape(c.baseline)}</td>"
        f"<td class='answer'>{escape(c.candidate)}</td></tr>"
        for c in cases
    )
    return (
        f"<details open><summary>Cases that got worse ({len(cases)})</summary><table>"
        "<tr><th>case</th><th>input</th><th>baseline's answer</th><th>candidate's answer</th>"
        f"</tr>{rows}</table></details>"
    )
