"""``drift.json`` and ``drift.html`` (self-contained: inline CSS and SVG, no script, no network
asset; every text from a dataset or a target is escaped) and the console summary."""

from __future__ import annotations

from pathlib import Path

from cujeval._util.redact import dumps
from cujeval._util.redact import html_text as escape
from cujeval.drift.result import AnswerDriftResult, DriftResult, TestResult

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d1d1f;
background:#fafafa}main{max-width:1200px;margin:0 auto;padding:1.5em 2em}
h1{font-size:1.5em;margin:.2em 0}h2{margin:1.6em 0 .3em;padding-top:.6em;border-top:2px solid #ddd}
table{border-collapse:collapse;margin:.5em 0 1em;background:#fff}
td,th{border:1px solid #d8d8d8;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.drift{color:#b00020;font-weight:700}.ok{color:#17692b;font-weight:600}.muted{color:#777}
.bar{display:inline-block;height:10px;vertical-align:middle}.ref{background:#4a7bd0}
.cur{background:#e08a1e}.text{white-space:pre-wrap;word-break:break-word;max-width:60em}
svg text{font:11px system-ui,sans-serif;fill:#333}
"""
_HEAD = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
    "style-src 'unsafe-inline'\"><title>{title}</title><style>{css}</style></head><body><main>"
)
COLOURS = {"reference": "#4a7bd0", "current": "#e08a1e", "gap": "#b00020"}


def write(result: DriftResult | AnswerDriftResult, directory: Path) -> tuple[Path, Path]:
    """Write ``drift.json`` and ``drift.html`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    js = directory / "drift.json"
    js.write_text(dumps(result.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    page = directory / "drift.html"
    body = render_inputs(result) if isinstance(result, DriftResult) else render_answers(result)
    page.write_text(body, encoding="utf-8")
    return js, page


def _verdict(drift: bool, p: float, alpha: float) -> str:
    word = "<span class='drift'>DRIFT</span>" if drift else "<span class='ok'>no drift</span>"
    return f"{word} at α = {alpha:g} (smallest Holm-adjusted p = {p:.3g})"


def _tests(tests: list[TestResult]) -> str:
    rows = "".join(
        f"<tr><td>{escape(t.name)}</td><td>{escape(t.question)}</td>"
        f"<td class='num'>{t.p_value:.3g}</td>"
        + (
            f"<td class='num'>{t.adjusted_p:.3g}</td>"
            f"<td class='{'drift' if t.drift else 'ok'}'>{'drift' if t.drift else 'no'}</td>"
            if t.decides
            else "<td class='muted'>-</td><td class='muted'>reported only</td>"
        )
        + f"<td>{escape(t.summary)}</td></tr>"
        for t in tests
    )
    return (
        "<table><tr><th>test</th><th>question</th><th>p</th><th>Holm p</th><th>drift</th>"
        f"<th>what it measured</th></tr>{rows}</table>"
    )


def render_inputs(r: DriftResult) -> str:
    out = [_HEAD.format(title="cujeval drift", css=_CSS)]
    out.append(
        f"<h1>cujeval drift · inputs</h1><p>{_verdict(r.drift, r.p_value, r.alpha)} · "
        f"golden {r.n_reference} inputs vs current {r.n_current}</p>"
    )
    out.append("<h2>Has the input distribution shifted? Where?</h2>")
    out.append(_tests(r.tests))
    for note in r.notes:
        out.append(f"<p class='muted'>{escape(note)}</p>")
    out.append("<h2>Both samples, two principal components of the embeddings</h2>")
    out.append(_scatter(r))
    out.append(
        f"<h2>Topic shares ({escape(r.topics_source)})</h2><p>PSI = {r.psi:.3f}; each input counts "
        "for the topic of its nearest golden case, or as not covered.</p>"
    )
    top = max([t.reference_share for t in r.topics] + [t.current_share for t in r.topics] + [1e-9])
    rows = []
    for t in r.topics:
        rows.append(
            f"<tr><td>{escape(t.name)}</td><td>{escape(', '.join(t.keywords))}</td>"
            f"<td class='num'>{t.reference_count}</td><td class='num'>{t.reference_share:.1%}</td>"
            f"<td class='num'>{t.current_count}</td><td class='num'>{t.current_share:.1%}</td>"
            f"<td><span class='bar ref' style='width:{160 * t.reference_share / top:.0f}px'>"
            f"</span><br><span class='bar cur' style='width:{160 * t.current_share / top:.0f}px'>"
            f"</span></td><td class='num'>{t.psi_term:.3f}</td></tr>"
        )
    out.append(
        "<table><tr><th>topic</th><th>keywords</th><th>golden</th><th>share</th><th>current</th>"
        "<th>share</th><th><span class='bar ref' style='width:10px'></span> golden "
        "<span class='bar cur' style='width:10px'></span> current</th><th>PSI term</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    out.append(
        "<h2>Coverage gaps</h2><p>Current inputs whose cosine similarity to every golden case "
        f"is below {r.coverage_threshold:.3f} (the {r.coverage_quantile:.0%} quantile of golden "
        "cases' similarity to their nearest other golden case), grouped. Write golden cases for "
        "these.</p>"
    )
    if not r.gaps:
        out.append("<p class='ok'>None.</p>")
    for g in r.gaps:
        items = "".join(
            f"<li><span class='text'>{escape(e.text)}</span> <span class='muted'>(similarity "
            f"{e.similarity:.2f} to “{escape(e.nearest)}”)</span></li>"
            for e in g.examples
        )
        out.append(
            f"<h3>{escape(g.name)}</h3><p>{g.size} inputs ({g.share:.1%} of current)</p>"
            f"<ul>{items}</ul>"
        )
    out.append("<h2>Text statistics</h2><table><tr><th></th><th>golden</th><th>current</th></tr>")
    for key in ("mean", "median", "p90"):
        out.append(
            f"<tr><td>words per input, {key}</td><td class='num'>{r.words['reference'][key]:.1f}"
            f"</td><td class='num'>{r.words['current'][key]:.1f}</td></tr>"
        )
    langs = sorted(set(r.languages["reference"]) | set(r.languages["current"]))
    for code in langs:
        out.append(
            f"<tr><td>language {escape(code)}</td>"
            f"<td class='num'>{r.languages['reference'].get(code, 0)}</td>"
            f"<td class='num'>{r.languages['current'].get(code, 0)}</td></tr>"
        )
    out.append("</table></main></body></html>")
    return "".join(out)


def _scatter(r: DriftResult, width: int = 640, height: int = 420, pad: int = 20) -> str:
    if not r.projection:
        return "<p class='muted'>no projection</p>"
    xs = [p.x for p in r.projection]
    ys = [p.y for p in r.projection]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    sx = (width - 2 * pad) / ((x1 - x0) or 1.0)
    sy = (height - 2 * pad) / ((y1 - y0) or 1.0)
    marks = []
    for p in sorted(r.projection, key=lambda p: ("reference", "current", "gap").index(p.sample)):
        cx = pad + (p.x - x0) * sx
        cy = height - pad - (p.y - y0) * sy
        colour = COLOURS[p.sample]
        title = f"<title>{escape(p.sample)}: {escape(p.text[:200])}</title>"
        if p.sample == "gap":
            marks.append(
                f"<g><path d='M{cx - 4:.1f},{cy - 4:.1f}L{cx + 4:.1f},{cy + 4:.1f}M{cx - 4:.1f},"
                f"{cy + 4:.1f}L{cx + 4:.1f},{cy - 4:.1f}' stroke='{colour}' stroke-width='2'/>"
                f"{title}</g>"
            )
        else:
            marks.append(
                f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='3.5' fill='{colour}' "
                f"fill-opacity='0.6'>{title}</circle>"
            )
    names = (("golden", "reference"), ("current", "current"), ("not covered", "gap"))
    legend = "".join(
        f"<rect x='{pad + 110 * i}' y='6' width='9' height='9' fill='{COLOURS[kind]}'/>"
        f"<text x='{pad + 110 * i + 13}' y='14'>{name}</text>"
        for i, (name, kind) in enumerate(names)
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"role='img' aria-label='2-D projection'><rect width='100%' height='100%' fill='#fff' "
        f"stroke='#ddd'/>{legend}{''.join(marks)}</svg>"
    )


def render_answers(r: AnswerDriftResult) -> str:
    out = [_HEAD.format(title="cujeval drift --runs", css=_CSS)]
    out.append(
        f"<h1>cujeval drift · answers</h1><p>{_verdict(r.drift, r.p_value, r.alpha)} · run "
        f"<code>{escape(r.run_a)}</code> → <code>{escape(r.run_b)}</code> · {r.n_paired} paired "
        f"cases ({r.n_only_a} only in A, {r.n_only_b} only in B, {r.n_skipped} with an error)</p>"
    )
    out.append(_tests(r.tests))
    for note in r.notes:
        out.append(f"<p class='muted'>{escape(note)}</p>")
    d = r.distance
    out.append(
        f"<p>Answer distance (1 − cosine): mean {d['mean']:.3f}, median {d['median']:.3f}, "
        f"p90 {d['p90']:.3f}, max {d['max']:.3f}; {r.n_flagged} cases above "
        f"{r.flag_distance:g}.</p><h2>The cases that moved most</h2>"
    )
    for c in r.moved:
        out.append(
            f"<h3>{escape(c.journey)} / {escape(c.case_id)} · distance {c.distance:.3f}</h3>"
            f"<p class='muted'>{escape(c.input)}</p><table><tr><th></th><th>A</th><th>B</th></tr>"
            f"<tr><td>answer</td><td class='text'>{escape(c.answer_a)}</td>"
            f"<td class='text'>{escape(c.answer_b)}</td></tr>"
            f"<tr><td>words</td><td class='num'>{c.words_a}</td>"
            f"<td class='num'>{c.words_b}</td></tr>"
            f"<tr><td>refusal</td><td>{c.refusal_a}</td><td>{c.refusal_b}</td></tr>"
            f"<tr><td>citations</td><td class='num'>{c.citations_a}</td>"
            f"<td class='num'>{c.citations_b}</td></tr></table>"
        )
    out.append("</main></body></html>")
    return "".join(out)


# ---------------------------------------------------------------------------- console


def console(result: DriftResult | AnswerDriftResult, *, examples: int = 3) -> str:
    """A plain-text summary for the terminal."""
    lines: list[str] = []
    verdict = "DRIFT" if result.drift else "no drift"
    lines.append(
        f"{verdict} at alpha {result.alpha:g} (smallest Holm-adjusted p {result.p_value:.3g})"
    )
    for t in result.tests:
        flag = ("DRIFT" if t.drift else "ok") if t.decides else "info"
        holm = f"(Holm {t.adjusted_p:.3g})" if t.decides else "(reported only)"
        lines.append(f"  {flag:5} {t.name:16} p {t.p_value:.3g} {holm}  {t.summary}")
    if isinstance(result, DriftResult):
        lines.append(f"topics ({result.topics_source}), golden share → current share:")
        for row in result.topics:
            lines.append(
                f"  {row.name[:40]:40} {row.reference_share:6.1%} → {row.current_share:6.1%}"
            )
        if result.gaps:
            lines.append(
                "coverage gaps (current inputs unlike every golden case): "
                "write golden cases for these"
            )
            for g in result.gaps:
                lines.append(f"  {g.name} — {g.size} inputs ({g.share:.1%})")
                for e in g.examples[:examples]:
                    lines.append(f"    · {e.text[:120]}  (similarity {e.similarity:.2f})")
    else:
        d = result.distance
        lines.append(
            f"{result.n_paired} paired cases; answer distance mean {d['mean']:.3f}, p90 "
            f"{d['p90']:.3f}; {result.n_flagged} above {result.flag_distance:g}"
        )
        for c in result.moved[:examples]:
            lines.append(f"  {c.journey}/{c.case_id}: distance {c.distance:.3f}  {c.input[:80]}")
    lines.extend(f"note: {n}" for n in result.notes)
    return "\n".join(lines)
