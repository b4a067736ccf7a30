"""A self-contained HTML report: verdicts per journey, then the cases (worst first).

Everything the target or the dataset produced is untrusted and escaped; no script runs.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from cujeval.reporters.format import interval, number, objective, sentence
from cujeval.results import JourneyResult, RunResult

MAX_CASES = 2000
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f3f3f3}.MET{color:#17692b;font-weight:600}
.BREACHED{color:#b00020;font-weight:700}.INCONCLUSIVE{color:#8a6100;font-weight:600}
.NO_DATA{color:#7a1fa2;font-weight:700}
td.answer{max-width:48em;white-space:pre-wrap}.err{color:#b00020}
"""


def _cases(journal: Path, journey: JourneyResult) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    total = 0
    if journal.exists():
        with journal.open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                if row.get("journey") != journey.name:
                    continue
                total += 1
                if len(rows) < MAX_CASES:
                    rows.append(row)
    return rows, total


def _value(score: dict[str, Any] | None) -> str:
    if not score or score.get("value") is None:
        return "–"
    v = score["value"]
    return str(v).lower() if isinstance(v, bool) else f"{v:.3g}"


def _journey(result: RunResult, j: JourneyResult, journal: Path) -> str:
    out = [f"<h2>{escape(j.name)}</h2>"]
    if j.description:
        out.append(f"<p>{escape(j.description)}</p>")
    out.append(
        f"<p>{j.n_rows} cases, {j.n_errors} errors · target {escape(j.target)} · dataset "
        f"<code>{escape(j.dataset.digest)}</code></p>"
    )
    out.append(
        "<table><tr><th>SLO</th><th>objective</th><th>estimate</th><th>interval</th>"
        "<th>n</th><th>verdict</th></tr>"
    )
    for s in j.slos:
        out.append(
            f"<tr><td>{escape(s.name)}</td><td>{escape(objective(s))}</td>"
            f"<td>{escape(number(s.estimate, ratio=s.kind != 'aggregate'))}</td>"
            f"<td>{escape(interval(s))}</td><td>{s.n}</td>"
            f"<td class='{s.verdict}'>{s.verdict}</td></tr>"
        )
    out.append("</table>")
    notes = [sentence(j.name, s) for s in j.slos if s.verdict != "MET"]
    if notes:
        out.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    rows, total = _cases(journal, j)
    slis = [s.name for s in j.slis if not s.name.startswith("instruction:")][:12]
    out.append(
        f"<h3>Cases ({total}{f', first {MAX_CASES} shown' if total > MAX_CASES else ''})</h3>"
    )
    out.append(
        "<table><tr><th>case</th><th>input</th><th>answer</th>"
        + "".join(f"<th>{escape(s)}</th>" for s in slis)
        + "</tr>"
    )
    for row in rows:
        obs = row.get("observation", {})
        answer = escape(obs.get("answer") or "")
        if obs.get("status", "ok") != "ok":
            answer = f"<span class='err'>{escape(str(obs.get('error', obs.get('status'))))}</span>"
        scores = row.get("scores", {})
        out.append(
            f"<tr><td>{escape(str(row.get('case_id')))}</td>"
            f"<td>{escape(str(row.get('input', '')))}</td><td class='answer'>{answer}</td>"
            + "".join(f"<td>{escape(_value(scores.get(s)))}</td>" for s in slis)
            + "</tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def render(result: RunResult, directory: Path) -> str:
    gate = "passed" if result.gate.passed else "failed"
    body = [
        f"<h1>cujeval · {escape(result.suite)}: gate {gate}</h1>",
        f"<p>run {escape(result.run_id)} · {escape(result.trigger)} · {escape(result.gate.policy)}"
        f" · exit code {result.gate.exit_code} · {escape(result.started_at)}</p>",
    ]
    if result.status == "aborted":
        body.append(f"<p class='err'>Run aborted: {escape(result.abort_reason or '')}</p>")
    body += [_journey(result, j, directory / result.journal) for j in result.journeys]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>cujeval {escape(result.suite)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>"
    )


def write(result: RunResult, directory: Path) -> Path:
    path = directory / "report.html"
    path.write_text(render(result, directory), encoding="utf-8")
    return path
