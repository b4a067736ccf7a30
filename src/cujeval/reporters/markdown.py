"""A Markdown summary for CI step summaries and pull-request comments.

Names and ids come from suites, datasets and targets: untrusted. Every such text is escaped
for Markdown and for the HTML that Markdown lets through, so a case id such as
``</details><script>`` or ``[x](javascript:...)`` shows as typed and never becomes markup.
"""

from __future__ import annotations

import re
from pathlib import Path

from cujeval.reporters.format import interval, number, objective, sentence, worst
from cujeval.results import RunResult

_ICON = {"MET": "✅", "BREACHED": "❌", "INCONCLUSIVE": "⚠️", "NO_DATA": "⛔"}
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN = re.compile(r"([\\`*_\[\]#|~])")  # what can start markup inside a line
_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")


def _cell(text: str) -> str:
    """``text`` as inert Markdown on one line: HTML characters as entities, Markdown
    punctuation backslash-escaped (``|`` too, so table cells stay cells)."""
    text = _SPACE.sub(" ", text)
    text = "".join(_HTML.get(c, c) for c in text)
    return _MARKDOWN.sub(r"\\\1", text)


def render(result: RunResult) -> str:
    gate = result.gate
    lines = [
        f"## cujeval · {_cell(result.suite)}: gate {'passed ✅' if gate.passed else 'failed ❌'}",
        "",
        f"Run `{result.run_id}` · {result.trigger} · policy {gate.policy} · "
        f"exit code {gate.exit_code}"
        + (f" · commit `{result.git_commit[:10]}`" if result.git_commit else ""),
        "",
    ]
    if result.status == "aborted":
        lines += [f"**Run aborted**: {_cell(result.abort_reason or '')} (finished cases kept).", ""]
    for journey in result.journeys:
        lines += [
            f"### {_cell(journey.name)}",
            f"{journey.n_rows} cases, {journey.n_errors} errors · target {_cell(journey.target)}"
            f" · dataset `{journey.dataset.digest[:19]}`",
            "",
            "| SLO | objective | estimate | interval | n | verdict | worst cases |",
            "|---|---|---|---|---|---|---|",
        ]
        for slo in journey.slos:
            lines.append(
                f"| {_cell(slo.name)} | {_cell(objective(slo))} | "
                f"{number(slo.estimate, ratio=slo.kind != 'aggregate')} | {interval(slo)} | "
                f"{slo.n} | {_ICON.get(slo.verdict, '')} {slo.verdict} | "
                f"{_cell(worst(slo)) if slo.verdict != 'MET' else ''} |"
            )
        lines.append("")
    notes = [sentence(j.name, s) for j in result.journeys for s in j.slos if s.verdict != "MET"]
    if notes:
        lines += ["<details><summary>Why</summary>", ""]
        lines += [f"- {_cell(n)}" for n in notes]
        lines += ["", "</details>", ""]
    return "\n".join(lines)


def write(result: RunResult, directory: Path) -> Path:
    path = directory / "summary.md"
    path.write_text(render(result), encoding="utf-8")
    return path
