"""The scenario x SLO table of ``cujeval scenarios``: each cell the verdict, whether the SLO had
to hold and the gate's action; per scenario HELD, BROKEN or INCOMPLETE (as JSON and text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cujeval.scenarios.engine import scenario_journey

if TYPE_CHECKING:
    from cujeval.spec.results import RunResult
    from cujeval.spec.suite import Suite


def table(suite: Suite, results: dict[str, RunResult]) -> dict[str, Any]:
    """Scenario × SLO: each cell the verdict, whether the SLO had to hold, and the gate's
    action; per scenario HELD (every must-hold SLO passed), BROKEN or INCOMPLETE."""
    rows = []
    for i, scenario in enumerate(suite.degradations):
        if scenario.name not in results:
            continue
        result = results[scenario.name]
        must = {m.slo for m in scenario.must_hold}
        cells = []
        for journey in result.journeys:
            for slo in journey.slos:
                cells.append(
                    {
                        "slo": slo.name,
                        "journey": journey.name,
                        "verdict": slo.verdict,
                        "estimate": slo.estimate,
                        "lower": slo.lower,
                        "upper": slo.upper,
                        "n": slo.n,
                        "expression": slo.expression,
                        "target": slo.target,
                        "must_hold": slo.name in must,
                        "action": result.gate.action(journey.name, slo.name),
                    }
                )
        if result.status == "aborted":
            outcome = "INCOMPLETE"
        elif result.gate.passed:
            outcome = "HELD"
        else:
            outcome = "BROKEN"
        rows.append(
            {
                "scenario": scenario.name,
                "description": scenario.description,
                "journey": scenario_journey(suite, i, scenario).name,
                "switch": scenario.faults if scenario.faults is not None else "hook",
                "outcome": outcome,
                "exit_code": result.gate.exit_code,
                "blocking": result.gate.blocking,
                "abort_reason": result.abort_reason,
                "load": _load_brief(result),
                "slos": cells,
            }
        )
    from cujeval.core.gate import worst

    exit_code = worst(r.gate.exit_code for r in results.values())
    return {"suite": suite.name, "scenarios": rows, "exit_code": exit_code}


def _load_brief(result: RunResult) -> dict[str, Any] | None:
    if not result.load:
        return None
    signals = result.load["golden_signals"]
    cost = (result.load["steps"][0].get("cost") or {}) if result.load["steps"] else {}
    return {
        "achieved_rate": signals["traffic"]["achieved_rate"],
        "error_rate": signals["errors"]["rate"],
        "p99_s": signals["latency"].get("p99"),
        "cost_per_success_usd": cost.get("cost_per_success_usd"),
    }


def render(report: dict[str, Any]) -> str:
    """Markdown: one row per scenario, one column per SLO; ``*`` marks the SLOs that must
    hold, ``!`` those that broke the scenario."""
    rows = report["scenarios"]
    if not rows:
        return "No scenario ran.\n"
    slos: list[str] = []
    for row in rows:
        for cell in row["slos"]:
            if cell["slo"] not in slos:
                slos.append(cell["slo"])
    lines = [
        f"# Degradation scenarios: {report['suite']}",
        "",
        "`*` must hold (blocks), `!` broke the scenario; other SLOs are informational.",
        "",
        "| scenario | outcome | " + " | ".join(slos) + " |",
        "|---|---|" + "---|" * len(slos),
    ]
    for row in rows:
        by = {c["slo"]: c for c in row["slos"]}
        cells = []
        for name in slos:
            c = by.get(name)
            if c is None:
                cells.append("")
                continue
            mark = ("*" if c["must_hold"] else "") + ("!" if c["action"] == "block" else "")
            est = "" if c["estimate"] is None else f" {c['estimate']:.3g}"
            cells.append(f"{c['verdict']}{mark}{est}")
        lines.append(f"| {row['scenario']} | {row['outcome']} | " + " | ".join(cells) + " |")
    lines.append("")
    for row in rows:
        if row["outcome"] != "HELD":
            why = row["abort_reason"] or "; ".join(row["blocking"])
            lines.append(f"- {row['scenario']}: {row['outcome']}: {why}")
        brief = row.get("load")
        if brief:
            cps = brief.get("cost_per_success_usd")
            lines.append(
                f"- {row['scenario']} under load: achieved {brief['achieved_rate']:.2f}/s, "
                f"errors {(brief['error_rate'] or 0):.1%}, p99 "
                f"{(brief['p99_s'] or 0) * 1000:.0f} ms"
                + (f", cost per successful journey ${cps:.6f}" if cps is not None else "")
            )
    lines.append("")
    return "\n".join(lines)
