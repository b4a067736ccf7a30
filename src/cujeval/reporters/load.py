"""The load section of a RunResult as text: the console summary and ``load.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cujeval._util.redact import redact, visible
from cujeval.spec.results import RunResult


def _ms(value: Any) -> str:
    if value is None:
        return "—"
    ms = value * 1000
    return f"{ms:.1f}" if ms >= 1 else f"{ms:.3f}"


def _interval_ms(summary: dict[str, Any], key: str) -> str:
    pair = (summary.get("intervals") or {}).get(key)
    return "" if not pair else f" [{_ms(pair[0])}, {_ms(pair[1])}]"


def _rate(value: Any) -> str:
    return "—" if value is None else f"{value:.2f}"


def _share(value: Any) -> str:
    return "—" if value is None else f"{value:.1%}"


def _usd(value: Any) -> str:
    return "—" if value is None else f"${value:.6f}"


def render(result: RunResult) -> str:
    """Markdown: traffic, errors, latency and saturation per step, the per-step tail, cost per
    successful journey, the knee and the SLO verdicts under load. Long: one section after
    another, in the order the page reads."""
    load = result.load
    if not load:
        return ""
    lines = [
        f"# Load: {result.suite} / {load['journey']}",
        "",
        f"Target: {load['target']}. Open loop, {load['profile']['arrival']} arrivals; latency "
        "from each request's scheduled start (no coordinated omission); quantiles from a "
        "log-bucketed histogram (±1 %), intervals from order statistics at "
        f"{result.settings.get('confidence', 0.95):.0%}.",
        "",
        "## Golden signals per step",
        "",
        "| offered /s | achieved /s | goodput /s | sent | not sent | errors | error rate "
        "| p50 ms | p95 ms | p99 ms | max ms | in flight max |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for step in load["steps"]:
        t, e, lat = step["traffic"], step["errors"], step["latency"]
        lines.append(
            f"| {_rate(t['offered_rate'])} | {_rate(t['achieved_rate'])} | {_rate(t['goodput'])} "
            f"| {t['sent']} | {t['not_sent']} | {e['n']} | {_share(e['rate'])} "
            f"| {_ms(lat.get('p50'))} | {_ms(lat.get('p95'))} "
            f"| {_ms(lat.get('p99'))}{_interval_ms(lat, 'p99')} | {_ms(lat.get('max'))} "
            f"| {step['in_flight_max']} |"
        )
    for step in load["steps"]:
        head = f"### {step['rate']:g}/s for {step['duration_s']:g} s"
        lines += ["", head, ""]
        lag = step.get("send_lag") or {}
        if lag.get("n"):
            lines.append(
                f"Load generator: requests sent {_ms(lag.get('p50'))} ms (median), "
                f"{_ms(lag.get('p99'))} ms (p99) after their scheduled time."
            )
        errors = step["errors"]["by_kind"]
        lines.append(
            "Errors by kind: "
            + (", ".join(f"{k} {v}" for k, v in errors.items()) if errors else "none")
            + "."
        )
        for key, label in (
            ("ttft", "Time to first token"),
            ("inter_token_latency", "Inter-token latency"),
        ):
            if key in step:
                s = step[key]
                lines.append(
                    f"{label}: p50 {_ms(s.get('p50'))} ms, p95 {_ms(s.get('p95'))} ms, "
                    f"p99 {_ms(s.get('p99'))} ms."
                )
        if "output_tokens_per_s" in step:
            s = step["output_tokens_per_s"]
            lines.append(f"Output tokens/s: median {s.get('p50', 0):.1f}.")
        sat = step.get("saturation") or {}
        if sat:
            lines.append(
                "Saturation (mean / max): "
                + "; ".join(
                    f"{k} {v['mean']:.3g} / {v['max']:.3g}" for k, v in sat.items() if v.get("n")
                )
                + "."
            )
        timings = step.get("step_timings")
        if timings:
            q = timings["quantile"]
            lines += [
                "",
                f"Per-step timings ({', '.join(timings['source'])}); the journey's {q} is "
                f"{_ms(timings['journey_' + q])} ms, the worst step's {q} "
                f"{_ms(timings['worst_step_' + q])} ms ({timings['worst_step']}): amplification "
                f"{timings['amplification']:.2f}×."
                if timings.get("amplification")
                else "",
                "",
                f"| step | p50 ms | p95 ms | {q} ms | max ms | share of the tail |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for name, s in timings["steps"].items():
                lines.append(
                    f"| {name} | {_ms(s.get('p50'))} | {_ms(s.get('p95'))} | {_ms(s.get(q))} "
                    f"| {_ms(s.get('max'))} | {_share(s.get('tail_share'))} |"
                )
            tail = timings["tail"]
            lines.append(f"| (not in any step) | | | | | {_share(tail['unattributed_share'])} |")
            if tail.get("dominant"):
                lines.append("")
                lines.append(
                    f"The tail (requests from {_ms(tail['from_s'])} ms, n = {tail['n']}) is "
                    f"dominated by **{tail['dominant']}**."
                )
        cost = step.get("cost")
        if cost:
            lines.append("")
            if cost.get("cost_per_success_usd") is not None:
                interval = cost.get("interval")
                extra = f" [{_usd(interval[0])}, {_usd(interval[1])}]" if interval else ""
                extra = extra.replace("—", "unbounded")
                lines.append(
                    f"Cost per successful journey ({cost['success_slo']}): "
                    f"{_usd(cost['cost_per_success_usd'])}{extra} — {cost['successes']} "
                    f"successes in {cost['n_rows']} scored responses, total "
                    f"{_usd(cost['total_cost_usd'])}."
                )
            else:
                lines.append(f"Cost per successful journey: {cost.get('note', '—')}.")
        lines += ["", "| SLO | unit | verdict | estimate | n |", "|---|---|---|---:|---:|"]
        for s in step["slos"]:
            est = "—" if s["estimate"] is None else f"{s['estimate']:.4g}"
            lines.append(f"| {s['name']} | {s['unit']} | {s['verdict']} | {est} | {s['n']} |")
    knee = load.get("knee")
    if knee:
        held = "nothing" if knee["held_rate"] is None else f"{knee['held_rate']:g}/s"
        if knee["broke_at_rate"] is None:
            text = f"No step broke: held up to {held}."
        else:
            text = (
                f"Held up to {held}; broke at {knee['broke_at_rate']:g}/s: "
                + "; ".join(knee["reasons"])
                + "."
            )
        lines += ["", "## Knee", "", text]
    source = load.get("saturation_source")
    if source:
        lines += [
            "",
            f"Saturation scraped from {source['url']}: {source['scrapes']} scrapes, "
            f"{source['failures']} failures.",
        ]
    for note in load.get("notes") or ():
        lines.append(f"- {note}")
    lines.append("")
    return "\n".join(lines)


def write(result: RunResult, directory: Path) -> Path:
    path = directory / "load.md"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(visible(redact(render(result))), encoding="utf-8")
    return path
