"""Open-loop load: arrivals, the bounded recorders, the per-step tail report, and runs of a
journey under load (a python target for exact expectations; the reference service for a stall).

No timing budgets: the only timing assert is the stall's, a fact (a request that waited for a
2 s stall took at least 2 s from its scheduled start)."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cujeval.errors import InputError
from cujeval.load.engine import LoadEngine
from cujeval.load.hist import BUCKETS, LogHistogram, SparseHistogram
from cujeval.load.metrics import parse_prometheus, select
from cujeval.load.profile import (
    MAX_POINTS,
    LoadProfile,
    LoadStep,
    arrivals,
    parse_duration,
    parse_rates,
)
from cujeval.load.recorders import Reservoir, Series, StepTails
from cujeval.pipeline import evaluate
from cujeval.spec.options import RunOptions
from cujeval.spec.records import GoldenCase, Observation, Usage
from cujeval.spec.suite import load_suite
from tests.helpers import write_rag_suite

# ------------------------------------------------------------------ profile and arrivals


def test_durations_and_rates_parse_and_refuse_with_the_flag_named() -> None:
    assert parse_duration("30s") == 30 and parse_duration("2m") == 120
    assert parse_duration("500ms") == 0.5 and parse_duration("1.5h") == 5400
    assert parse_duration("45") == 45
    assert parse_rates("10, 20,40/s") == (10.0, 20.0, 40.0)
    for bad in ("0s", "-3s", "ten", "3 weeks"):
        with pytest.raises(InputError, match="--duration"):
            parse_duration(bad)
    for bad in ("10,,20", "0", "x", "-1"):
        with pytest.raises(InputError, match="--steps"):
            parse_rates(bad)
    with pytest.raises(InputError, match="--score-share"):
        LoadProfile(steps=(LoadStep(1, 1),), score_share=1.5)


def test_constant_arrivals_are_evenly_spaced_per_step() -> None:
    profile = LoadProfile(steps=(LoadStep(10, 2.0), LoadStep(20, 1.0)))
    times = list(arrivals(profile, random.Random(0)))
    assert len(times) == 20 + 20
    first = [t for t, i in times if i == 0]
    assert first[:3] == pytest.approx([0.0, 0.1, 0.2])
    second = [t for t, i in times if i == 1]
    assert second[0] == pytest.approx(2.0) and second[1] == pytest.approx(2.05)


def test_poisson_arrivals_average_the_rate_and_a_ramp_rises_to_it() -> None:
    profile = LoadProfile(steps=(LoadStep(50, 40.0),), arrival="poisson")
    n = sum(1 for _ in arrivals(profile, random.Random(1)))
    assert abs(n - 2000) < 4 * math.sqrt(2000)  # 4 standard deviations of a Poisson count
    ramped = LoadProfile(steps=(LoadStep(10, 1.0),), ramp_s=4.0)
    ramp = [t for t, i in arrivals(ramped, random.Random(0)) if i == -1]
    assert len(ramp) == 19  # the integral of a rate rising 0 -> 10/s over 4 s is 20
    gaps = [b - a for a, b in itertools.pairwise(ramp)]
    assert gaps == sorted(gaps, reverse=True)  # arrivals closer together as the rate rises


# ------------------------------------------------------------------ bounded recorders


def test_histogram_quantiles_are_within_one_percent_and_exact_at_the_ends() -> None:
    h = LogHistogram()
    values = [i / 1000 for i in range(1, 1001)]  # 1 ms .. 1 s
    random.Random(0).shuffle(values)
    for v in values:
        h.record(v)
    assert h.n == 1000 and h.min == 0.001 and h.max == 1.0
    assert h.quantile(0.5) == pytest.approx(0.5, rel=0.011)
    assert h.quantile(0.99) == pytest.approx(0.99, rel=0.011)
    assert h.quantile(1.0) == 1.0  # the bucket value is clamped to the exact max
    summary = h.summary()
    lo, hi = summary["intervals"]["p99"]
    assert lo <= summary["p99"] <= hi
    assert len(h.counts) == BUCKETS  # whatever the number of values recorded


def test_a_histogram_of_equal_values_reports_them_exactly() -> None:
    h = SparseHistogram()
    for _ in range(10):
        h.record(0.0523)
    assert h.quantile(0.5) == h.quantile(0.99) == 0.0523


def test_the_reservoir_keeps_a_bounded_uniform_sample() -> None:
    counts = [0] * 10
    for seed in range(400):
        r: Reservoir[int] = Reservoir(3, random.Random(seed))
        for i in range(10):
            r.offer(i)
        assert len(r.items) == 3 and r.seen == 10
        for i in r.items:
            counts[i] += 1
    # each item kept with probability 3/10: 120 of 400 expected, binomial sd ~9.2
    assert all(abs(c - 120) < 40 for c in counts), counts


def test_the_time_series_is_bounded_in_points() -> None:
    series = Series(1.0)
    for t in range(MAX_POINTS + 500):
        series.done(float(t), True, 0.05, 1)
    series.finish(float(MAX_POINTS + 500))
    assert len(series.points) == MAX_POINTS
    assert series.points[0]["achieved_rate"] == 1.0 and series.points[0]["p50"] == 0.05


def test_step_tail_report_matches_a_hand_computation() -> None:
    """985 requests take 0.1 s (retrieval 0.02, generation 0.07) and 15 take 2.0 s (retrieval
    1.8, generation 0.1). By hand: p99 = the 990th of 1000 sorted = 2.0 s; the tail is the 15
    slow requests, 30 s in all, of which retrieval 27 s (90 %), generation 1.5 s (5 %), 5 % in
    no step. Retrieval's p99 = its 990th value = 1.8 s, generation's = 0.1 s: the worst step's
    p99 is 1.8 s, so the amplification is 2.0 / 1.8 = 1.111."""
    tails = StepTails()
    for _ in range(985):
        tails.add(0.1, {"retrieval": 0.02, "generation": 0.07}, "server-timing")
    for _ in range(15):
        tails.add(2.0, {"retrieval": 1.8, "generation": 0.1}, "server-timing")
    report = tails.report()
    assert report is not None
    assert report["journey_p99"] == pytest.approx(2.0, rel=0.01)
    assert report["tail"]["n"] == 15
    shares = report["tail"]["shares"]
    assert shares["retrieval"] == pytest.approx(0.90)
    assert shares["generation"] == pytest.approx(0.05)
    assert report["tail"]["unattributed_share"] == pytest.approx(0.05)
    assert report["tail"]["dominant"] == "retrieval"
    assert report["worst_step"] == "retrieval"
    assert report["worst_step_p99"] == pytest.approx(1.8, rel=0.01)
    assert report["steps"]["generation"]["p99"] == pytest.approx(0.1, rel=0.01)
    assert report["amplification"] == pytest.approx(2.0 / 1.8, rel=0.02)


def test_prometheus_text_is_parsed_and_saturation_series_chosen() -> None:
    text = "\n".join(
        [
            "# HELP app_in_flight Requests in flight.",
            "# TYPE app_in_flight gauge",
            "app_in_flight 3",
            "# TYPE app_queue_depth gauge",
            'app_queue_depth{pool="gen",note="a \\"b\\" c"} 7 1712345678000',
            "# TYPE process_cpu_seconds_total counter",
            "process_cpu_seconds_total 12.5",
            "# TYPE http_latency histogram",
            'http_latency_bucket{le="0.1"} 4',
            "app_requests 1e3",
            "broken{label=} 1",
            "nan_metric_in_flight NaN",
        ]
    )
    types, samples = parse_prometheus(text)
    by_key = {s.key: s.value for s in samples}
    assert by_key["app_in_flight"] == 3
    assert by_key['app_queue_depth{note="a "b" c",pool="gen"}'] == 7
    assert by_key["app_requests"] == 1000 and "broken" not in str(by_key)
    chosen = select(types, samples, ())
    assert chosen["app_in_flight"] == ("gauge", 3)
    assert chosen["process_cpu_seconds_total"][0] == "counter"
    assert "app_requests" not in chosen and not any("bucket" in k for k in chosen)
    assert set(select(types, samples, ("app_requests",))) == {"app_requests"}


# ------------------------------------------------------------------ runs with a python target

PRICES = {"fake-model": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}
CASES = [
    {"id": "c1", "input": "one", "reference": "alpha beta"},
    {"id": "c2", "input": "two", "reference": "gamma delta"},
    {"id": "c3", "input": "three", "reference": "epsilon zeta"},
    {"id": "c4", "input": "four", "reference": "eta theta"},
]


def fake_target(case: GoldenCase) -> Observation:
    """c1, c2 answered right, c3 answered wrong, c4 always fails; each answer costs 1000
    prompt + 500 completion tokens (0.002 USD at the test prices) and reports two steps."""
    if case.id == "c4":
        return Observation(status="http_500", error="injected")
    answer = "nonsense words" if case.id == "c3" else str(case.reference)
    return Observation(
        answer=answer,
        usage=Usage(prompt_tokens=1000, completion_tokens=500),
        model="fake-model",
        steps={"retrieval": 0.002, "generation": 0.003},
        streamed=True,
        ttft_s=0.001,
        latency_s=0.0060,
    )


def _suite(tmp_path: Path, target: dict[str, Any], slos: list[dict[str, Any]]) -> Path:
    data = tmp_path / "cases.jsonl"
    data.write_text("\n".join(json.dumps(c) for c in CASES) + "\n")
    suite = {
        "name": "loadtest",
        "targets": {"t": target},
        "prices": PRICES,
        "journeys": [
            {
                "name": "j",
                "dataset": str(data),
                "target": "t",
                "scorers": ["error", "latency_s", "token_f1", "cost_usd"],
                "slos": slos,
            }
        ],
    }
    path = tmp_path / "suite.yaml"
    path.write_text(json.dumps(suite))
    return path


SLOS = [
    {"name": "no-errors", "good": "error == false", "target": 0.6},
    {"name": "f1", "good": "token_f1 >= 0.5", "target": 0.5},
    {"name": "journey-success", "all_of": ["no-errors", "f1"], "target": 0.4},
    {"name": "latency", "objective": "p99(latency_s) <= 30"},
    {"name": "cost-per-success", "objective": "per_success(cost_usd, journey-success) <= 1"},
]


def _run(path: Path, tmp_path: Path, profile: LoadProfile) -> Any:
    options = RunOptions(output_dir=tmp_path / "out", progress=False, mlflow=False)
    return asyncio.run(evaluate(load_suite(path), options, engine=LoadEngine(profile)))


def test_operational_slos_count_requests_and_quality_slos_count_cases(tmp_path: Path) -> None:
    path = _suite(tmp_path, {"kind": "python", "callable": "tests.test_load:fake_target"}, SLOS)
    profile = LoadProfile(steps=(LoadStep(40, 1.0),), metrics_url="")
    result = _run(path, tmp_path, profile)
    slos = {s.name: s for s in result.journeys[0].slos}
    # 40 requests, every 4th (c4) fails: per request, 30 of 40 good
    assert slos["no-errors"].n == 40 and slos["no-errors"].estimate == pytest.approx(0.75)
    # token F1 per golden case: c1, c2 good, c3 bad, c4 not scorable (the target failed)
    assert slos["f1"].n == 3 and slos["f1"].estimate == pytest.approx(2 / 3)
    # journey success per case: c4's failure counts bad there
    assert slos["journey-success"].n == 4
    assert slos["journey-success"].estimate == pytest.approx(0.5)
    assert slos["latency"].n == 30  # latency of the 30 answered requests
    step = result.load["steps"][0]
    assert step["traffic"]["scheduled"] == 40 and step["traffic"]["completed"] == 40
    assert step["errors"]["by_kind"] == {"http_500": 10}
    assert {s["name"]: s["unit"] for s in step["slos"]} == {
        "no-errors": "request",
        "f1": "case",
        "journey-success": "case",
        "latency": "request",
        "cost-per-success": "case",
    }
    # cost per success, by hand: per cycle c1, c2, c3 cost 0.002 each, c1 and c2 succeed
    assert slos["cost-per-success"].estimate == pytest.approx(0.003)
    cost = step["cost"]
    assert cost["successes"] == 20
    assert cost["total_cost_usd"] == pytest.approx(30 * 0.002)
    assert cost["cost_per_success_usd"] == pytest.approx(0.003)
    # steps from the target, streamed tokens: ITL = (6 − 1 ms) / 499, tokens/s = 500 / 5 ms
    assert set(step["step_timings"]["steps"]) == {"retrieval", "generation"}
    assert step["inter_token_latency"]["p50"] == pytest.approx(0.005 / 499, rel=0.011)
    assert step["output_tokens_per_s"]["p50"] == pytest.approx(100_000, rel=0.011)
    assert result.load["timeseries"]["points"]
    assert result.gate.exit_code == 0


def test_a_sampled_share_is_scored_and_steps_are_judged_apart(tmp_path: Path) -> None:
    path = _suite(tmp_path, {"kind": "python", "callable": "tests.test_load:fake_target"}, SLOS)
    profile = LoadProfile(
        steps=(LoadStep(20, 1.0), LoadStep(40, 1.0)),
        score_share=0.5,
        max_scored=8,
        metrics_url="",
    )
    result = _run(path, tmp_path, profile)
    assert [j.name for j in result.journeys] == ["j@20/s", "j@40/s"]
    first, second = result.load["steps"]
    assert first["traffic"]["scheduled"] == 20 and second["traffic"]["scheduled"] == 40
    assert second["scored"]["kept"] <= 8 < second["requests_kept_for_slos"]["kept"]
    assert result.load["knee"]["broke_at_rate"] is None  # nothing broke


def test_a_stall_shows_in_p99_and_max(tmp_path: Path, rag_service: str) -> None:
    """The reference service (50 ms per answer) stalls once for 2 s while 20 requests per
    second keep arriving. Open loop, every request scheduled during the stall waits for it, and
    its latency counts from its scheduled start: the stall is in max and in p99, and many
    requests saw it. (A closed loop at concurrency 1 would have sent one request into the stall
    and waited: one slow sample in the whole run, and p99 would hide it.)"""
    admin = f"{rag_service}/admin/faults"

    def post(body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            admin, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request) as r:
            assert r.status == 200

    suite_path = write_rag_suite(
        tmp_path / "suite.yaml",
        rag_service,
        [{"name": "latency-p99", "objective": "p99(latency_s) <= 1.0"}],
        name="stall",
    )
    post({"latency_ms": 50})
    timer = threading.Timer(1.0, post, args=({"stall_ms": 2000},))
    try:
        timer.start()
        started = time.monotonic()
        result = _run(suite_path, tmp_path, LoadProfile(steps=(LoadStep(20, 4.0),)))
        assert time.monotonic() - started >= 2.0
    finally:
        timer.join()
        post({"latency_ms": 0, "stall_ms": 0})
    step = result.load["steps"][0]
    latency = step["latency"]
    assert latency["max"] >= 2.0  # a request scheduled as the stall began waited all of it
    assert latency["p99"] >= 1.0
    slow = [p for p in result.load["timeseries"]["points"] if (p["max"] or 0) >= 1.0]
    assert slow  # the stall is visible in the time series too
    assert step["traffic"]["completed"] == step["traffic"]["scheduled"] == 80
    assert result.load["saturation_source"]["scrapes"] >= 1
    verdict = {s.name: s.verdict for s in result.journeys[0].slos}["latency-p99"]
    assert verdict in ("BREACHED", "INCONCLUSIVE")  # p99 at 95 % needs 299 cases to be MET


async def stalled_target(case: GoldenCase) -> Observation:
    """Answers right, but only after 0.5 s: a generator capped at 2 in flight cannot send
    most of a 40/s step."""
    await asyncio.sleep(0.5)
    return Observation(answer=str(case.reference), latency_s=0.5)


def test_requests_not_sent_are_errors_of_the_request_slis(tmp_path: Path) -> None:
    """A request the in-flight cap kept from being sent is a failed request as a user saw it:
    no-errors cannot be MET on the few that were sent."""
    slos = [{"name": "no-errors", "good": "error == false", "target": 0.6}]
    path = _suite(tmp_path, {"kind": "python", "callable": "tests.test_load:stalled_target"}, slos)
    profile = LoadProfile(steps=(LoadStep(40, 1.0),), metrics_url="", max_in_flight=2)
    result = _run(path, tmp_path, profile)
    (journey,) = result.journeys
    not_sent = journey.errors_by_status["not_sent"]
    assert not_sent > 20
    (slo,) = journey.slos
    assert slo.n >= not_sent and slo.verdict == "BREACHED"
    assert result.gate.exit_code == 1
