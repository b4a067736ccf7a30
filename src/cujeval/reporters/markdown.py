"""A Markdown summary for CI step summaries and pull-request comments.

Sized for a comment: GitHub refuses comments over 65,536 characters, so the summary stays
under :data:`LIMIT`; journeys, SLO rows, verdicts and worst cases that would not fit are left
out and the summary says how many and where to look (report.html).

Names and ids come from suites, datasets and targets: untrusted. Every such text is escaped
for Markdown and for the HTML that Markdown lets through, so a case id such as
``</details><script>`` or ``[x](javascript:...)`` shows as typed and never becomes markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cujeval._util.redact import redact, visible
from cujeval.errors import InputError
from cujeval.reporters.format import interval, number, objective, sentence, worst
from cujeval.spec.journal import read_rows
from cujeval.spec.results import JourneyResult, RunResult

LIMIT = 60_000  # characters; GitHub's comment limit is 65,536
MAX_CELL = 200  # characters of one name, id or message
PREVIEW = 100  # characters of an answer shown beside a worst case
WHY = 300  # characters of what made a worst case bad
MAX_STEPS_TEXT = 300  # characters of an agent's trajectory shown beside a worst case
_KEEP = 300  # characters the SLO tables leave for the verdicts block (at least its note)
_ICON = {"MET": "✅", "BREACHED": "❌", "INCONCLUSIVE": "⚠️", "NO_DATA": "⛔"}
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN = re.compile(r"([\\`*_\[\]#|~])")  # what can start markup inside a line
_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")


def _cell(text: str, limit: int = MAX_CELL) -> str:
    """``text`` as inert Markdown on one line, at most ``limit`` characters of it: redacted,
    HTML characters as entities, Markdown punctuation backslash-escaped (``|`` too, so table
    cells stay cells)."""
    text = _SPACE.sub(" ", visible(redact(text))).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = "".join(_HTML.get(c, c) for c in text)
    return _MARKDOWN.sub(r"\\\1", text)


def _left_out(n: int, what: str) -> str:
    return f"_… and {n} more {what} not shown (comment size limit): see report.html_"


class _Page:
    """Lines under a character budget; a block that does not fit is cut, and says so."""

    def __init__(self, limit: int) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.limit = limit

    def fits(self, lines: Sequence[str], reserve: int = 0) -> bool:
        return self.size + sum(len(x) + 1 for x in lines) + reserve <= self.limit

    def add(self, lines: Sequence[str]) -> None:
        self.lines += lines
        self.size += sum(len(x) + 1 for x in lines)

    def block(
        self, head: list[str], items: list[str], tail: list[str], what: str, keep: int = 0
    ) -> bool:
        """``head``, as many ``items`` as fit (leaving ``keep`` characters for what follows),
        a note of those left out, ``tail``. False when not even the head fits."""
        reserve = sum(len(x) + 1 for x in tail) + len(_left_out(len(items), what)) + 2 + keep
        if not self.fits(head, reserve):
            return False
        self.add(head)
        for i, item in enumerate(items):
            if not self.fits([item], reserve):
                self.add(["", _left_out(len(items) - i, what)])
                break
            self.add([item])
        self.add(tail)
        return True

    def text(self) -> str:
        return "\n".join(self.lines)


def render(result: RunResult, directory: Path | None = None, *, limit: int = LIMIT) -> str:
    """The summary; with the run's ``directory``, worst cases show a preview of the answer."""
    result = result.redacted()
    gate = result.gate
    page = _Page(limit)
    page.add(
        [
            f"## cujeval · {_cell(result.suite)}: gate "
            f"{'passed ✅' if gate.passed else 'failed ❌'}",
            "",
            f"Run {_cell(result.run_id, 80)} · {_cell(result.trigger)} · policy "
            f"{_cell(gate.policy)} · exit code {gate.exit_code}"
            + (f" · commit {_cell(result.git_commit[:10])}" if result.git_commit else ""),
            "",
        ]
    )
    if result.status == "aborted":
        page.add(
            [f"**Run aborted**: {_cell(result.abort_reason or '', 500)} (finished cases kept).", ""]
        )
    for k, journey in enumerate(result.journeys):
        if not page.block(*_journey(journey), [""], "SLOs", keep=_KEEP):
            left = len(result.journeys) - k
            page.add([_left_out(left, "journeys"), ""])
            break
    if result.load:
        from cujeval.reporters.load import render as render_load

        lines = ["##" + x if x.startswith("#") else x for x in render_load(result).splitlines()]
        page.block(lines[:4], lines[4:], [""], "lines of the load report (see load.md)")
    if result.canary is not None:
        from cujeval.core.compare import Report

        report = Report.from_dict(result.canary)
        canary = report.to_markdown().splitlines()  # six lines of head, a row per SLO, power
        page.block(canary[:6], canary[6 : 6 + len(report.comparisons)], [""], "SLOs")
    notes = [
        f"- {_cell(sentence(j.name, s), 1000)}"
        for j in result.journeys
        for s in j.slos
        if s.verdict != "MET"
    ]
    cases = _worst_cases(result, directory)
    if cases:
        notes += ["", "**Worst cases**", "", *cases]
    if notes:
        page.block(["<details><summary>Why</summary>", ""], notes, ["", "</details>", ""], "lines")
    return page.text()


def _journey(journey: JourneyResult) -> tuple[list[str], list[str]]:
    head = [
        f"### {_cell(journey.name)}",
        f"{journey.n_rows} cases, {journey.n_errors} errors · target {_cell(journey.target)}"
        f" · dataset `{_cell(journey.dataset.digest[:19])}`",
        "",
        "| SLO | objective | estimate | interval | n | verdict | worst cases |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [
        f"| {_cell(slo.name)} | {_cell(objective(slo))} | "
        f"{number(slo.estimate, ratio=slo.kind != 'aggregate')} | {interval(slo)} | "
        f"{slo.n} | {_ICON.get(slo.verdict, '')} {slo.verdict} | "
        f"{_cell(worst(slo, why=False)) if slo.verdict != 'MET' else ''} |"
        for slo in journey.slos
    ]
    return head, rows


def _worst_cases(result: RunResult, directory: Path | None) -> list[str]:
    """One line per worst case of every SLO that is not MET: journey/SLO, case id, value and,
    from the journal, the start of the answer (or the error)."""
    wanted = {
        (j.name, str(w["case_id"]), int(w.get("epoch", 0)))
        for j in result.journeys
        for s in j.slos
        if s.verdict != "MET"
        for w in s.worst_cases
    }
    previews: dict[tuple[str, str, int], str] = {}
    steps: dict[tuple[str, str, int], str] = {}
    if wanted and directory is not None:
        try:
            for row in read_rows(directory / result.journal):
                if row.key in wanted:
                    obs = row.observation
                    text = (
                        obs.get("answer") if row.ok else f"error: {obs.get('error') or row.status}"
                    )
                    previews[row.key] = str(text or "")
                    steps[row.key] = _steps(obs.get("tool_calls"))
        except InputError:
            pass  # a journal edited by hand: the ids and values still show
    lines = []
    for j in result.journeys:
        for s in j.slos:
            if s.verdict == "MET":
                continue
            for w in s.worst_cases:
                key = (j.name, str(w["case_id"]), int(w.get("epoch", 0)))
                value = w.get("value")
                line = f"- {_cell(j.name)}/{_cell(s.name)}: {_cell(str(w['case_id']), 120)}"
                if isinstance(value, int | float):
                    line += f" ({value:.4g})"
                if w.get("why"):
                    line += f": {_cell(str(w['why']), WHY)}"
                if previews.get(key):
                    line += f" — {_cell(previews[key], PREVIEW)}"
                if steps.get(key):
                    line += f"; steps: {_cell(steps[key], MAX_STEPS_TEXT)}"
                lines.append(line)
    return lines


def _steps(calls: Any) -> str:
    """An agent's trajectory on one line: ``lookup_order(order_id=ORD-1) → refund(…) ✗``."""
    if not isinstance(calls, list):
        return ""
    out = []
    for call in calls:
        call = call if isinstance(call, dict) else {"name": str(call)}
        args = call.get("arguments")
        shown = (
            ", ".join(f"{k}={v}" for k, v in args.items()) if isinstance(args, dict) else str(args)
        )
        out.append(f"{call.get('name') or '?'}({shown}){' ✗' if call.get('error') else ''}")
    return " → ".join(out)


def write(result: RunResult, directory: Path) -> Path:
    path = directory / "summary.md"
    path.write_text(visible(redact(render(result, directory))), encoding="utf-8")
    return path
