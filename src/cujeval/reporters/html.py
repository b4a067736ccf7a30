"""A self-contained HTML report a reviewer reads: per journey the SLOs (estimate and interval
drawn against the target), latency and time-to-first-token distributions, cost, breakdowns per
instruction (``instruction:*`` SLIs) and per slice (case ``tags``), the worst cases with their
answer, contexts and the scorer's explanation, and the cases.

Everything a target, a dataset or a suite wrote is untrusted and escaped (an answer holding
``<script>`` shows as text), redacted, and its control characters shown (NUL as ␀) through
:func:`cujeval._util.redact.html_text`; the page loads nothing and runs no script (CSP ``default-src
'none'``). The journal is read once, through :func:`cujeval.spec.journal.read_rows`.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cujeval._util.redact import html_text as escape
from cujeval.errors import InputError
from cujeval.reporters.format import interval, number, objective, sentence
from cujeval.reporters.history import History, changed_table
from cujeval.reporters.page import page
from cujeval.spec.journal import JournalRow, read_rows
from cujeval.spec.predicates import parse_objective, parse_predicate
from cujeval.spec.results import JourneyResult, RunResult, SLOEntry

MAX_CASES = 1000  # rows of each journey's case table
MAX_ANSWER = 600  # characters of an answer in the case table
MAX_CONTEXT = 500  # characters of each context shown with a worst case
MAX_STEPS = 30  # tool calls of an agent's trajectory shown with a worst case
MAX_TOOL_TEXT = 300  # characters of a tool call's arguments, result or error
MAX_STATE_TEXT = 2000  # characters of an agent's final world state
MAX_CONTEXTS = 4
BINS = 24
COLOURS = {"MET": "#17692b", "BREACHED": "#b00020", "INCONCLUSIVE": "#8a6100", "NO_DATA": "#7a1fa2"}


def write(
    result: RunResult,
    directory: Path,
    *,
    history: History | None = None,
    note: str | None = None,
) -> Path:
    path = directory / "report.html"
    path.write_text(render(result, directory, history=history, note=note), encoding="utf-8")
    return path


def render(
    result: RunResult,
    directory: Path,
    *,
    history: History | None = None,
    note: str | None = None,
) -> str:
    """The page; with ``history`` (cujeval.reporters.history) its pictures follow the
    journeys, else ``note`` says in one line why there are none."""
    result = result.redacted()
    stats, problem = _gather(result, directory / result.journal)
    gate = result.gate
    body = [
        f"<h1>cujeval · {escape(result.suite)} "
        f"<span class='badge {'pass' if gate.passed else 'block'}'>gate "
        f"{'passed' if gate.passed else 'failed'}</span></h1>",
        f"<p class='meta'>run <code>{escape(result.run_id)}</code> · {escape(result.trigger)} · "
        f"policy {escape(gate.policy)} · exit code {gate.exit_code} · "
        f"{escape(result.started_at)} → {escape(result.finished_at)}"
        + (f" · commit <code>{escape(result.git_commit[:12])}</code>" if result.git_commit else "")
        + "</p>",
    ]
    if result.status == "aborted":
        body.append(f"<p class='err'>Run incomplete: {escape(result.abort_reason or '')}</p>")
    if problem:
        body.append(f"<p class='err'>{escape(problem)}</p>")
    if gate.blocking:
        body.append(_list("Blocking", gate.blocking, "block"))
    if gate.warnings:
        body.append(_list("Warnings", gate.warnings, "warn"))
    if result.notes:
        body.append(_list("Notes", result.notes, "muted"))
    if result.load:
        body.append(_load(result.load.model_dump()))
    if result.canary is not None:
        body.append(_canary(result.canary.model_dump()))
    if len(result.journeys) > 1:
        body.append(
            "<nav>"
            + "".join(f"<a href='#{_anchor(j.name)}'>{escape(j.name)}</a>" for j in result.journeys)
            + "</nav>"
        )
    body += [_journey(result, j, stats[j.name]) for j in result.journeys]
    if history is not None or note is not None:
        from cujeval.reporters.history import section

        body.append(section(history, note))
    return page(f"cujeval {result.suite}", body)


def _list(title: str, items: Sequence[str], cls: str) -> str:
    shown = "".join(f"<li>{escape(i)}</li>" for i in items[:50])
    more = f"<li class='muted'>… and {len(items) - 50} more</li>" if len(items) > 50 else ""
    return f"<p><span class='badge {cls}'>{escape(title)}</span></p><ul>{shown}{more}</ul>"


def _load(load: dict[str, Any]) -> str:
    """``cujeval load``: the golden signals of each step, the knee and the notes (load.md has
    the per-step tail, saturation and cost in full)."""

    def ms(v: Any) -> str:
        return "—" if v is None else f"{v * 1000:.1f}"

    def num(v: Any, fmt: str = ".2f") -> str:
        return "—" if v is None else format(v, fmt)

    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "step",
            "offered /s",
            "achieved /s",
            "errors",
            "error rate",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
        )
    )
    rows = []
    for step in load.get("steps") or ():
        t, e, lat = step["traffic"], step["errors"], step["latency"]
        cells = (
            f"{step['rate']:g}/s for {step['duration_s']:g} s",
            num(t.get("offered_rate")),
            num(t.get("achieved_rate")),
            str(e.get("n")),
            num(e.get("rate"), ".1%"),
            ms(lat.get("p50")),
            ms(lat.get("p95")),
            ms(lat.get("p99")),
            ms(lat.get("max")),
        )
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    out = [
        f"<h2>Load: {escape(str(load.get('journey')))}</h2>",
        f"<p class='meta'>{escape(str(load.get('target')))}; open loop, "
        f"{escape(str((load.get('profile') or {}).get('arrival')))} arrivals, latency from each "
        "request's scheduled start</p>",
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>",
    ]
    knee = load.get("knee")
    if knee and knee.get("broke_at_rate") is not None:
        out.append(
            f"<p>Knee: broke at {knee['broke_at_rate']:g}/s: "
            f"{escape('; '.join(knee.get('reasons') or ()))}</p>"
        )
    if load.get("notes"):
        out.append(_list("Load notes", [str(n) for n in load["notes"]], "muted"))
    return "\n".join(out)


def _canary(doc: dict[str, Any]) -> str:
    """The same-run canary: every SLO of the candidate against its baseline arm."""
    from cujeval.core.compare import Report

    report = Report.from_dict(doc)
    head = "".join(f"<th>{escape(h)}</th>" for h in report.HEADER)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
        for row in report.table()
    )
    return (
        f"<h2>Canary: {escape(report.summary())}</h2>"
        f"<p class='meta'>candidate {escape(report.candidate_label)} against baseline "
        f"{escape(report.baseline_label)}, both answering every case in this run, paired by "
        f"case id</p><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        + _list("Power", report.power_lines(), "muted")
        + (changed_table(report.changed) if report.changed else "")
    )


def _anchor(name: str) -> str:
    return "j-" + re.sub(r"[^A-Za-z0-9_-]", "_", name)


# ------------------------------------------------------------------------ reading the journal

Check = Callable[[JournalRow], bool | None]  # good, bad, or not scorable for one row


@dataclass
class _Slice:
    rows: int = 0
    errors: int = 0
    latency: list[float] = field(default_factory=list)
    good: dict[str, list[int]] = field(default_factory=dict)  # SLO -> [good, judged]


@dataclass
class _Stats:
    """What one pass over the journal gathers for a journey."""

    checks: dict[str, Check]
    wanted: set[tuple[str, int]]
    total: int = 0
    rows: list[JournalRow] = field(default_factory=list)
    found: dict[tuple[str, int], JournalRow] = field(default_factory=dict)
    latency: list[float] = field(default_factory=list)
    ttft: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    tokens: Counter[str] = field(default_factory=Counter)
    models: Counter[str] = field(default_factory=Counter)
    slices: dict[str, _Slice] = field(default_factory=dict)


def _gather(result: RunResult, journal: Path) -> tuple[dict[str, _Stats], str | None]:
    stats = {
        j.name: _Stats(
            checks=_checks(j),
            wanted={(w["case_id"], int(w.get("epoch", 0))) for s in j.slos for w in s.worst_cases},
        )
        for j in result.journeys
    }
    try:
        for row in read_rows(journal):
            if row.journey in stats:
                _add(stats[row.journey], row)
    except InputError as exc:
        return stats, f"the journal could not be read to the end: {exc}"
    return stats, None


def _add(st: _Stats, row: JournalRow) -> None:
    st.total += 1
    if len(st.rows) < MAX_CASES:
        st.rows.append(row)
    if (row.case_id, row.epoch) in st.wanted:
        st.found[(row.case_id, row.epoch)] = row
    obs = row.observation
    latency = _float(obs.get("latency_s")) if row.ok else None
    if latency is not None:
        st.latency.append(latency)
    ttft = _float(obs.get("ttft_s")) if row.ok else None
    if ttft is not None:
        st.ttft.append(ttft)
    cost = _float((row.scores.get("cost_usd") or {}).get("value"))
    if cost is not None:
        st.cost.append(cost)
    usage = obs.get("usage") or {}
    if isinstance(usage, dict):
        for key in ("prompt_tokens", "completion_tokens"):
            st.tokens[key] += int(_float(usage.get(key)) or 0)
    if obs.get("model"):
        st.models[str(obs["model"])] += 1
    for tag in row.tags or ["(no tag)"]:
        sl = st.slices.setdefault(str(tag), _Slice())
        sl.rows += 1
        sl.errors += not row.ok
        if latency is not None:
            sl.latency.append(latency)
        for name, check in st.checks.items():
            verdict = check(row)
            if verdict is not None:
                counts = sl.good.setdefault(name, [0, 0])
                counts[0] += verdict
                counts[1] += 1


def _float(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float) or math.isnan(x):
        return None
    return float(x)


def _predicate_text(slo: SLOEntry) -> str:
    return re.sub(r" \((every|any) repeat\)$", "", slo.expression)


def _checks(j: JourneyResult) -> dict[str, Check]:
    """Per ratio and journey SLO, whether one row is good (for the slices)."""
    preds = {}
    for slo in j.slos:
        if slo.kind == "ratio":
            try:
                preds[slo.name] = parse_predicate(_predicate_text(slo))
            except ValueError:
                continue
    out: dict[str, Check] = {}
    for slo in j.slos:
        if slo.name in preds:
            p = preds[slo.name]
            out[slo.name] = lambda row, p=p: _judge(row, p)  # type: ignore[misc]
        elif slo.kind == "journey":
            steps = [preds[s.strip()] for s in _steps(slo) if s.strip() in preds]
            out[slo.name] = lambda row, steps=steps: _judge_all(row, steps)  # type: ignore[misc]
    return out


def _steps(slo: SLOEntry) -> list[str]:
    return _predicate_text(slo).removeprefix("all of: ").split(",")


def _judge(row: JournalRow, pred: Any) -> bool | None:
    value = (row.scores.get(pred.sli) or {}).get("value")
    return None if value is None else bool(pred(value))


def _judge_all(row: JournalRow, preds: list[Any]) -> bool | None:
    if not row.ok:
        return False
    verdicts = [v for v in (_judge(row, p) for p in preds) if v is not None]
    return all(verdicts) if verdicts else None


# ---------------------------------------------------------------------------------- journey


def _journey(result: RunResult, j: JourneyResult, st: _Stats) -> str:
    action = result.gate.journeys.get(j.name, "pass")
    errors = ", ".join(f"{escape(k)} {v}" for k, v in j.errors_by_status.items())
    out = [
        f"<h2 id='{_anchor(j.name)}'>{escape(j.name)} "
        f"<span class='badge {escape(action)}'>{escape(action)}</span></h2>",
        f"<p>{escape(j.description)}</p>" if j.description else "",
        f"<p class='meta'>{j.n_cases or j.n_rows} cases, {j.n_rows} rows, {j.n_errors} errors"
        + (f" ({errors})" if errors else "")
        + f" · target {escape(j.target)} · dataset <code>{escape(j.dataset.path)}</code> "
        f"<code>{escape(j.dataset.digest[:19])}</code> · scorers {escape(', '.join(j.scorers))}"
        + (
            " · <span class='err'>scorer errors: "
            + escape(", ".join(f"{k} {v}" for k, v in j.scorer_errors.items()))
            + "</span>"
            if j.scorer_errors
            else ""
        )
        + "</p>",
        _slo_table(result, j),
    ]
    notes = [sentence(j.name, s) for s in j.slos if s.verdict != "MET"]
    if notes:
        out.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    out += [
        _distributions(j, st),
        _cost(j, st),
        _instructions(j),
        _slices(j, st),
        _worst(j, st),
        _case_table(j, st),
    ]
    return "\n".join(part for part in out if part)


def _slo_table(result: RunResult, j: JourneyResult) -> str:
    rows = []
    for s in j.slos:
        gate = next((g for g in result.gate.slos if g.journey == j.name and g.slo == s.name), None)
        action = gate.action if gate else "pass"
        desc = f"<div class='muted'>{escape(s.description)}</div>" if s.description else ""
        rows.append(
            f"<tr><td>{escape(s.name)}{desc}</td><td>{escape(objective(s))}</td>"
            f"<td class='num'>{escape(number(s.estimate, ratio=s.kind != 'aggregate'))}</td>"
            f"<td class='num'>{escape(interval(s))}</td><td class='num'>{s.n}</td>"
            f"<td class='{s.verdict}'>{s.verdict}</td>"
            f"<td><span class='badge {action}'>{action}</span> "
            f"<span class='muted'>{escape(gate.reason if gate else '')}</span></td>"
            f"<td>{_interval_svg(j.name, s)}</td></tr>"
        )
    return (
        "<table><tr><th>SLO</th><th>objective</th><th>estimate</th><th>interval</th><th>n</th>"
        "<th>verdict</th><th>gate</th><th>estimate and interval against the target</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _interval_svg(journey: str, s: SLOEntry, width: int = 300, height: int = 46) -> str:
    """The interval as a bar, the estimate as a dot, the target as a dashed line (labelled
    above) over the shaded side that meets it; the axis ends labelled below."""
    if s.estimate is None:
        return "<span class='muted'>no data</span>"
    ratio = s.kind != "aggregate"
    ref = s.target if ratio else s.bound
    points = [v for v in (s.lower, s.upper, s.estimate, ref) if v is not None]
    if ratio:
        lo, hi = max(0.0, math.floor((min(points) - 0.02) * 20) / 20), 1.0
    else:
        lo = min(0.0, min(points))
        hi = max(points) * 1.15 if max(points) > 0 else 1.0
    hi = hi if hi > lo else lo + 1.0
    pad = 14

    def x(v: float) -> float:
        return round(pad + (v - lo) / (hi - lo) * (width - 2 * pad), 1)

    def label(v: float) -> str:
        return escape(number(v, ratio=ratio).replace(" ", ""))

    mid, colour = 22, COLOURS.get(s.verdict, "#333")
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img'><title>{escape(sentence(journey, s))}</title>"
    ]
    if ref is not None:
        good_high = ratio or s.op in (">=", ">")
        a, b = (ref, hi) if good_high else (lo, ref)
        anchor = "end" if x(ref) > width - 60 else "start" if x(ref) < 60 else "middle"
        parts.append(
            f"<rect x='{x(a)}' y='12' width='{max(0.0, x(b) - x(a))}' height='20' "
            f"fill='#e3f4e6'/><line x1='{x(ref)}' x2='{x(ref)}' y1='11' y2='33' stroke='#333' "
            f"stroke-dasharray='3,2'/><text x='{x(ref)}' y='9' text-anchor='{anchor}'>"
            f"{'target' if ratio else 'bound'} {label(ref)}</text>"
        )
    parts.append(f"<line x1='{pad}' x2='{width - pad}' y1='{mid}' y2='{mid}' stroke='#ccc'/>")
    if s.lower is not None and s.upper is not None:
        parts.append(
            f"<line x1='{x(s.lower)}' x2='{x(s.upper)}' y1='{mid}' y2='{mid}' "
            f"stroke='{colour}' stroke-width='6' stroke-linecap='round' opacity='.5'/>"
        )
    parts.append(
        f"<circle cx='{x(s.estimate)}' cy='{mid}' r='5' fill='{colour}'/>"
        f"<text x='{pad}' y='{height - 2}' text-anchor='start' fill='#777'>{label(lo)}</text>"
        f"<text x='{width - pad}' y='{height - 2}' text-anchor='end' fill='#777'>{label(hi)}</text>"
    )
    return "".join(parts) + "</svg>"


def _bound_of(j: JourneyResult, sli: str) -> tuple[float, str] | None:
    for s in j.slos:
        if s.kind == "aggregate" and s.bound is not None:
            try:
                obj = parse_objective(s.expression)
            except ValueError:
                continue
            if obj.sli == sli:
                return s.bound, s.expression
    return None


def _distributions(j: JourneyResult, st: _Stats) -> str:
    parts = []
    for sli, values, label in (
        ("latency_s", st.latency, "latency"),
        ("ttft_s", st.ttft, "time to first token"),
    ):
        if values:
            parts.append(_histogram_svg(values, label, _bound_of(j, sli)))
    if not parts:
        return ""
    return "<h3>Latency</h3><div>" + " ".join(parts) + "</div>"


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile as every other figure of cujeval computes it (numpy's default, linear
    between order statistics), so the histogram's p95 is the table's."""
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _histogram_svg(values: Sequence[float], label: str, bound: tuple[float, str] | None) -> str:
    """Counts of ``values`` (seconds) in equal bins; p50, p95 and the objective's bound as
    dashed lines named in a legend above the plot (an objective far beyond the values is named
    there and not drawn, so the bars keep their width)."""
    width, height, left, bottom, top = 560, 200, 40, 22, 40
    vs = sorted(values)
    p50, p95, p99 = (_quantile(vs, q) for q in (0.5, 0.95, 0.99))
    hi = vs[-1] if vs[-1] <= 1.5 * p99 else p99  # a few far outliers share the last bin
    hi = hi if hi > 0 else 1.0
    off_scale = bound is not None and bound[0] > 3 * hi
    if bound is not None and not off_scale:
        hi = max(hi, bound[0] * 1.05)
    counts = [0] * BINS
    for v in vs:
        counts[min(BINS - 1, max(0, int(v / hi * BINS)))] += 1
    peak = max(counts)
    plot_w, plot_h = width - left - 10, height - bottom - top
    base, step = top + plot_h, plot_w / BINS

    def x(v: float) -> float:
        return round(left + min(v, hi) / hi * plot_w, 1)

    marks = [(p50, "p50", "#333"), (p95, "p95", "#8a6100")]
    if bound is not None:
        marks.append((bound[0], "objective", "#b00020"))
    legend = "".join(
        f"<tspan dx='{14 if k else 0}' fill='{colour}'>╎ {name} {v:.3g} s"
        + (" (off the scale →)" if name == "objective" and off_scale else "")
        + "</tspan>"
        for k, (v, name, colour) in enumerate(marks)
    )
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img'><title>{escape(label)}: {len(vs)} cases, "
        f"p50 {p50:.3g} s, p95 {p95:.3g} s</title>"
        f"<text x='{left}' y='13' font-weight='600'>{escape(label)} (s), {len(vs)} cases</text>"
        f"<text x='{left}' y='28'>{legend}</text>"
    ]
    for i, c in enumerate(counts):
        h = round(c / peak * plot_h, 1) if peak else 0
        lo_edge, hi_edge = i * hi / BINS, (i + 1) * hi / BINS
        more = "+" if i == BINS - 1 and vs[-1] > hi else ""
        parts.append(
            f"<rect x='{round(left + i * step + 1, 1)}' y='{round(base - h, 1)}' "
            f"width='{round(step - 2, 1)}' height='{h}' fill='#4a7bd0'><title>"
            f"{lo_edge:.3g}–{hi_edge:.3g}{more} s: {c}</title></rect>"
        )
    parts.append(f"<line x1='{left}' x2='{left + plot_w}' y1='{base}' y2='{base}' stroke='#999'/>")
    for v, _, colour in marks if not off_scale else marks[:2]:
        parts.append(
            f"<line x1='{x(v)}' x2='{x(v)}' y1='{top}' y2='{base}' stroke='{colour}' "
            "stroke-width='1.5' stroke-dasharray='4,3'/>"
        )
    parts.append(
        f"<text x='{left}' y='{base + 14}' text-anchor='middle'>0</text>"
        f"<text x='{left + plot_w}' y='{base + 14}' text-anchor='end'>{hi:.3g} s</text>"
        f"<text x='{left - 4}' y='{top + 8}' text-anchor='end'>{peak}</text>"
    )
    return "".join(parts) + "</svg>"


def _cost(j: JourneyResult, st: _Stats) -> str:
    if not st.cost and not st.tokens:
        return ""
    cells = []
    if st.cost:
        vs = sorted(st.cost)
        total = sum(vs)
        cells += [
            ("total", f"${total:.4g}"),
            ("mean per case", f"${total / len(vs):.3g}"),
            ("p95 per case", f"${_quantile(vs, 0.95):.3g}"),
            ("cases priced", str(len(vs))),
        ]
    if st.tokens:
        cells += [
            ("prompt tokens", f"{st.tokens['prompt_tokens']:,}"),
            ("completion tokens", f"{st.tokens['completion_tokens']:,}"),
        ]
    if st.models:
        cells.append(("models", ", ".join(f"{m} ({n})" for m, n in st.models.most_common(5))))
    judge = next((s for s in j.slis if s.name == "judge_cost_usd" and s.mean is not None), None)
    if judge is not None and judge.mean is not None:
        cells.append(("judge, mean per case", f"${judge.mean:.3g}"))
    return (
        "<h3>Cost</h3><table><tr>"
        + "".join(f"<th>{escape(k)}</th>" for k, _ in cells)
        + "</tr><tr>"
        + "".join(f"<td class='num'>{escape(v)}</td>" for _, v in cells)
        + "</tr></table>"
    )


def _instructions(j: JourneyResult) -> str:
    slis = sorted(
        (s for s in j.slis if s.name.startswith("instruction:") and s.mean is not None),
        key=lambda s: (s.mean or 0.0, s.name),
    )
    if not slis:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(s.name.removeprefix('instruction:'))}</code></td>"
        f"<td class='num'>{100 * (s.mean or 0):.1f} %</td><td class='num'>{s.n}</td>"
        f"<td><span class='bar' style='width:{round(120 * (s.mean or 0))}px'></span></td></tr>"
        for s in slis
    )
    return (
        "<h3>Per instruction (followed, worst first)</h3><table><tr><th>instruction</th>"
        f"<th>followed</th><th>cases</th><th></th></tr>{rows}</table>"
    )


def _slices(j: JourneyResult, st: _Stats) -> str:
    if not st.slices or list(st.slices) == ["(no tag)"]:
        return ""
    slos = [s for s in j.slos if s.name in st.checks]
    head = "".join(f"<th>{escape(s.name)}</th>" for s in slos)
    rows = []
    for tag, sl in sorted(st.slices.items(), key=lambda kv: (-kv[1].rows, kv[0])):
        cells = []
        for s in slos:
            good, judged = sl.good.get(s.name, [0, 0])
            if not judged:
                cells.append("<td class='muted'>–</td>")
                continue
            share = good / judged
            below = " below" if s.target is not None and share < s.target else ""
            cells.append(
                f"<td class='num{below}'>{100 * share:.1f} % <span class='muted'>"
                f"({good}/{judged})</span></td>"
            )
        mean = f"{sum(sl.latency) / len(sl.latency):.3g} s" if sl.latency else "–"
        rows.append(
            f"<tr><td>{escape(tag)}</td><td class='num'>{sl.rows}</td>"
            f"<td class='num'>{sl.errors}</td><td class='num'>{mean}</td>{''.join(cells)}</tr>"
        )
    return (
        "<h3>Per slice (case tags; shaded: below the SLO's target)</h3><table><tr><th>tag</th>"
        f"<th>rows</th><th>errors</th><th>mean latency</th>{head}</tr>{''.join(rows)}</table>"
    )


def _slis_of(j: JourneyResult, s: SLOEntry) -> list[str]:
    text = _predicate_text(s)
    try:
        if s.kind == "aggregate":
            return [parse_objective(text).sli]
        if s.kind == "ratio":
            return [parse_predicate(text).sli]
    except ValueError:
        return []
    steps = {x.strip() for x in _steps(s)}
    return [sli for step in j.slos if step.name in steps for sli in _slis_of(j, step)]


def _worst(j: JourneyResult, st: _Stats) -> str:
    """Per SLO, its worst cases: id, value and a one-line preview; opened, the input, the
    answer (or the error), each SLI's value with the scorer's explanation, the contexts. The
    first case of an SLO that is not MET is open."""
    parts = []
    for s in j.slos:
        if not s.worst_cases:
            continue
        slis = _slis_of(j, s)
        parts.append(
            f"<h4>{escape(s.name)} <span class='{s.verdict}'>{s.verdict}</span> "
            f"<span class='muted'>{escape(objective(s))}</span></h4>"
        )
        for i, w in enumerate(s.worst_cases):
            row = st.found.get((str(w["case_id"]), int(w.get("epoch", 0))))
            value = w.get("value")
            head = f"<code>{escape(str(w['case_id']))}</code>"
            if isinstance(value, int | float):
                head += f" · {escape(' / '.join(slis[:1]) or 'value')} = {value:.4g}"
            if w.get("epoch"):
                head += f" · repeat {int(w['epoch'])}"
            if w.get("why"):
                head += f" · <span class='why'>{escape(str(w['why']))}</span>"
            if row is not None:
                head += f" <span class='muted'>{escape(_preview(row))}</span>"
            opened = " open" if i == 0 and s.verdict != "MET" else ""
            detail = _case_detail(row, slis) if row else "<p class='muted'>not in the journal</p>"
            parts.append(f"<details{opened}><summary>{head}</summary>{detail}</details>")
    return "<h3>Worst cases</h3>" + "".join(parts) if parts else ""


def _preview(row: JournalRow, limit: int = 110) -> str:
    text = str(row.observation.get("answer") or "") if row.ok else f"error: {_error(row)}"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error(row: JournalRow) -> str:
    return str(row.observation.get("error") or row.status)


def _clip(value: Any, limit: int = MAX_TOOL_TEXT) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _trajectory(obs: dict[str, Any]) -> list[tuple[str, str]]:
    """An agent case's steps: each tool call with its arguments, result, time and error (the
    first MAX_STEPS), then the final state of the world, folded."""
    calls = obs.get("tool_calls")
    items: list[tuple[str, str]] = []
    if isinstance(calls, list) and calls:
        trs = []
        for i, call in enumerate(calls[:MAX_STEPS], 1):
            call = call if isinstance(call, dict) else {"name": str(call)}
            secs = call.get("latency_s")
            error = call.get("error")
            result = (
                f"<span class='err'>{escape(_clip(error))}</span>"
                if error
                else escape(_clip(call.get("result")))
            )
            trs.append(
                f"<tr><td>{i}</td><td><code>{escape(_clip(str(call.get('name') or '?'), 80))}"
                f"</code></td><td><code>{escape(_clip(call.get('arguments') or {}))}</code></td>"
                f"<td>{result}</td>"
                f"<td>{f'{secs:.3f} s' if isinstance(secs, int | float) else ''}</td></tr>"
            )
        more = len(calls) - MAX_STEPS
        if more > 0:
            trs.append(f"<tr><td colspan='5' class='muted'>… {more} more steps</td></tr>")
        items.append(
            (
                f"trajectory ({len(calls)} tool calls)",
                "<table><tr><th>#</th><th>tool</th><th>arguments</th><th>result / error</th>"
                "<th>time</th></tr>" + "".join(trs) + "</table>",
            )
        )
    state = obs.get("state")
    if isinstance(state, dict) and state:
        text = escape(_clip(state, MAX_STATE_TEXT))
        items.append(
            ("final state", f"<details><summary>show</summary><code>{text}</code></details>")
        )
    return items


def _case_detail(row: JournalRow, slis: list[str]) -> str:
    obs = row.observation
    items = [("input", f"<div class='text'>{escape(row.input)}</div>")]
    if row.tags:
        items.append(("tags", escape(", ".join(row.tags))))
    if not row.ok:  # every SLI of an error row says the same: the target failed
        items.append(("error", f"<span class='err'>{escape(_error(row))}</span>"))
        return _dl(items + _trajectory(obs))  # what an agent did before it failed
    items.append(("answer", f"<div class='answer'>{escape(str(obs.get('answer') or ''))}</div>"))
    for sli in slis:
        score = row.scores.get(sli) or {}
        why = str(score.get("explanation") or "")
        items.append(
            (
                f"{sli} = {_value(score)}",
                f"<div class='text'>{escape(why)}</div>" if why else "",
            )
        )
    agent = _trajectory(obs)
    items += agent
    contexts = obs.get("contexts") or []
    if agent and not contexts:
        return _dl(items)
    if isinstance(contexts, list) and contexts:
        lis = []
        for c in contexts[:MAX_CONTEXTS]:
            c = c if isinstance(c, dict) else {"text": str(c)}
            text = str(c.get("text") or "")
            text = text if len(text) <= MAX_CONTEXT else text[:MAX_CONTEXT] + "…"
            lis.append(
                f"<li><code>{escape(str(c.get('id') or ''))}</code> "
                f"<span class='text'>{escape(text)}</span></li>"
            )
        more = f" (first {MAX_CONTEXTS} of {len(contexts)})" if len(contexts) > MAX_CONTEXTS else ""
        items.append((f"contexts{more}", "<ol>" + "".join(lis) + "</ol>"))
    else:
        items.append(("contexts", "<span class='muted'>none returned</span>"))
    return _dl(items)


def _dl(items: list[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _case_table(j: JourneyResult, st: _Stats) -> str:
    slis = [s.name for s in j.slis if not s.name.startswith("instruction:")][:10]
    more = f", the first {MAX_CASES} shown" if st.total > MAX_CASES else ""
    out = [
        f"<details><summary>All cases ({st.total} rows{more})</summary>"
        "<table class='cases'><tr><th>case</th><th>tags</th><th>input</th><th>answer</th>"
        + "".join(f"<th>{escape(s)}</th>" for s in slis)
        + "</tr>"
    ]
    for row in st.rows:
        obs = row.observation
        if row.ok:
            answer = str(obs.get("answer") or "")
            answer = answer if len(answer) <= MAX_ANSWER else answer[:MAX_ANSWER] + "…"
            cell = escape(answer)
        else:
            cell = f"<span class='err'>{escape(_error(row))}</span>"
        out.append(
            f"<tr><td><code>{escape(row.case_id)}</code>"
            + (f" <span class='muted'>#{row.epoch}</span>" if row.epoch else "")
            + f"</td><td>{escape(', '.join(row.tags))}</td><td class='text'>"
            f"{escape(row.input[:300])}</td><td class='answer'>{cell}</td>"
            + "".join(f"<td class='num'>{escape(_value(row.scores.get(s)))}</td>" for s in slis)
            + "</tr>"
        )
    out.append("</table></details>")
    return "".join(out)


def _value(score: dict[str, Any] | None) -> str:
    if not score or score.get("value") is None:
        return "–"
    v = score["value"]
    return str(v).lower() if isinstance(v, bool) else f"{v:.3g}"
