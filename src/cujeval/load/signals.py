"""What a load run reports: each step's golden signals and verdicts, the knee, and the
run's golden signals."""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

from cujeval.load.hist import LogHistogram

if TYPE_CHECKING:
    from cujeval.core.slo import SLOResult
    from cujeval.spec.suite import Journey, SLOSpec

from cujeval.load.cost import cost_per_success, success_spec
from cujeval.load.profile import TAIL_QUANTILE, per_request
from cujeval.load.recorders import _Saturation

if TYPE_CHECKING:
    from cujeval.load.engine import LoadRun


def _summary(hist: LogHistogram, confidence: float) -> dict[str, Any]:
    return hist.summary(confidence=confidence)


def step_report(run: LoadRun, i: int, results: list[SLOResult]) -> dict[str, Any]:
    s = run.stats[i]
    conf = run.settings.confidence
    duration = s.step.duration_s
    errors = {k: v for k, v in sorted(s.statuses.items()) if k != "ok"}
    n_errors = sum(errors.values())
    attempted = s.completed + s.not_sent
    report: dict[str, Any] = {
        "rate": s.step.rate,
        "duration_s": duration,
        "traffic": {
            "scheduled": s.scheduled,
            "offered_rate": s.scheduled / duration,
            "sent": s.sent,
            "not_sent": s.not_sent,
            "completed": s.completed,
            "achieved_rate": s.completed_in_window / duration,
            "goodput": s.ok_in_window / duration,
            "achieved_share": (s.completed_in_window / s.scheduled) if s.scheduled else None,
            # answers per arrival over the step's second half: at steady state 1.0 whatever
            # the latency; below 1 when the target answers fewer than arrive
            "steady_share": (
                s.completed_second_half / s.scheduled_second_half
                if s.scheduled_second_half
                else None
            ),
            "second_half": {
                "scheduled": s.scheduled_second_half,
                "completed": s.completed_second_half,
            },
        },
        "errors": {
            "by_kind": errors,
            "n": n_errors,
            "rate": n_errors / attempted if attempted else None,
        },
        "latency": _summary(s.latency, conf),
        "error_latency": _summary(s.error_latency, conf),
        "send_lag": s.send_lag.summary((0.5, 0.99), None),
        "in_flight_max": s.in_flight_max,
        "saturation": {k: v.report() for k, v in sorted(s.saturation.items())},
    }
    if s.ttft.n:
        report["ttft"] = _summary(s.ttft, conf)
    if s.itl.n:
        report["inter_token_latency"] = _summary(s.itl, conf)
        report["output_tokens_per_s"] = _summary(s.tokens_per_s, conf)
    tails = s.tails.report(TAIL_QUANTILE, conf)
    if tails is not None:
        report["step_timings"] = tails
    if run.quality and run.case_columns:
        spec = success_spec(run.plan.journey, run.profile.success_slo)
        report["cost"] = cost_per_success(
            run.case_columns[i], run.plan.journey, spec, confidence=conf, seed=run.profile.seed
        )
        report["scored"] = {
            "responses": s.sampled.seen,
            "kept": len(s.sampled.items),
            "share": run.profile.score_share,
        }
    report["requests_kept_for_slos"] = {"seen": s.requests.seen, "kept": len(s.requests.items)}
    report["slos"] = [
        {
            "name": r.name,
            "verdict": r.verdict.value,
            "estimate": r.estimate,
            "lower": r.lower,
            "upper": r.upper,
            "n": r.n,
            "unit": "request"
            if per_request(spec_of(run.plan.journey, r.name), run.plan.journey)
            else "case",
        }
        for r in results
    ]
    return report


def spec_of(journey: Journey, name: str) -> SLOSpec:
    return next(s for s in journey.slos if s.name == name)


def find_knee(run: LoadRun, steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The highest rate that held, and the first that broke: an SLO BREACHED, p99 latency above
    ``knee_p99_s``, or fewer answers than 95 % of the arrivals over the step's second half
    (steady state: the whole window's count would miss the answers still in flight at its end),
    short by more than 3 √arrivals (Poisson arrivals make the two counts differ by chance)."""
    if len(steps) < 2:
        return None
    held: float | None = None
    for step in steps:
        why: list[str] = []
        breached = [s["name"] for s in step["slos"] if s["verdict"] == "BREACHED"]
        if breached:
            why.append("BREACHED: " + ", ".join(breached))
        p99 = step["latency"].get("p99")
        if run.profile.knee_p99_s is not None and p99 is not None and p99 > run.profile.knee_p99_s:
            why.append(f"p99 {p99:.3f} s > {run.profile.knee_p99_s:g} s")
        half = step["traffic"]["second_half"]
        arrived, answered = half["scheduled"], half["completed"]
        # short of 95 %, and by more than three standard deviations of the counting noise
        if arrived and answered < 0.95 * arrived and arrived - answered > 3 * math.sqrt(arrived):
            why.append(
                f"answered {answered / arrived:.1%} of the arrivals in the step's second half"
            )
        if why:
            return {"held_rate": held, "broke_at_rate": step["rate"], "reasons": why}
        held = step["rate"]
    return {"held_rate": held, "broke_at_rate": None, "reasons": ["no step broke"]}


def golden_signals(run: LoadRun) -> dict[str, Any]:
    """Over every judged step: traffic, errors, latency and saturation."""
    latency, errors_hist = LogHistogram(), LogHistogram()
    statuses: Counter[str] = Counter()
    scheduled = completed = in_window = 0
    duration = 0.0
    saturation: dict[str, _Saturation] = {}
    for s in run.stats:
        latency.merge(s.latency)
        errors_hist.merge(s.error_latency)
        statuses.update(s.statuses)
        scheduled += s.scheduled
        completed += s.completed
        in_window += s.completed_in_window
        duration += s.step.duration_s
        for k, v in s.saturation.items():
            agg = saturation.setdefault(k, _Saturation())
            agg.n += v.n
            agg.total += v.total
            agg.max = max(agg.max, v.max)
            agg.last = v.last
    errors = {k: v for k, v in sorted(statuses.items()) if k != "ok"}
    attempted = completed + statuses["not_sent"]
    return {
        "traffic": {
            "offered_rate": scheduled / duration,
            "achieved_rate": in_window / duration,
            "scheduled": scheduled,
            "completed": completed,
        },
        "errors": {
            "by_kind": errors,
            "rate": sum(errors.values()) / attempted if attempted else None,
        },
        "latency": latency.summary(confidence=run.settings.confidence),
        "error_latency": errors_hist.summary(confidence=run.settings.confidence),
        "saturation": {k: v.report() for k, v in sorted(saturation.items())},
    }
