"""A Markdown summary for CI step summaries and pull-request comments."""

from __future__ import annotations

from pathlib import Path

from cujeval.reporters.format import interval, number, objective, sentence, worst
from cujeval.results import RunResult

_ICON = {"MET": "✅", "BREACHED": "❌", "INCONCLUSIVE": "⚠️"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(result: RunResult) -> str:
    gate = result.gate
    lines = [
        f"## cujeval · {result.suite}: gate {'passed ✅' if gate.passed else 'failed ❌'}",
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
            f"### {journey.name}",
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
                f"{slo.n} | {_ICON[slo.verdict]} {slo.verdict} | "
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
