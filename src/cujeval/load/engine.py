"""Open-loop load for one journey: arrivals at a set rate, golden signals, the per-step tail, and
the journey's SLOs judged under that load.

Arrivals are scheduled in advance (constant spacing or a Poisson process, optionally after a
linear ramp, in one or several steps to find the knee) and each request is sent at its time
whatever the others are doing: the generator never waits for an answer before sending the next
request, so a stalled target meets the requests it would have received and its stall shows in
the figures (no coordinated omission). Latency is measured from each request's *scheduled*
start, so time a request spent waiting in the client counts too.

Every response feeds the golden signals (traffic offered and achieved, errors by kind, latency
percentiles with intervals, saturation scraped from the target's /metrics), a per-second time
series and the per-step timings (Server-Timing or an agent's tool-call latencies). Memory is
bounded: histograms are fixed arrays (cujeval.load.hist), the time series holds at most
MAX_POINTS windows, and the rows kept for SLO verdicts are uniform reservoir samples.

SLOs, with the verdict semantics of ``cujeval run``:
- operational SLIs (latency, TTFT, errors) are properties of each *request* under load: each
  request is a row of its own, clustered by golden case (so a question that always fails does
  not pass for independent evidence); p99 of latency is the p99 of requests;
- every other SLI (quality, cost) is a property of the *golden case*: repeats of a case reduce
  to one value per case before any interval, exactly as ``--epochs``. Those scorers run after
  the load (so their CPU does not perturb the latency measured) on a uniform sample of the
  responses (``score_share``, at most ``max_scored``; identical responses judged once).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cujeval.core.aggregate import Columns
from cujeval.errors import InputError, RunAborted
from cujeval.spec.predicates import SATURATION
from cujeval.spec.records import ANSWERED, GoldenCase, Observation

if TYPE_CHECKING:
    from cujeval.core.slo import SLOResult
    from cujeval.engine.execution import Execution
    from cujeval.engine.plan import JourneyPlan
    from cujeval.scorers.base import BuiltScorer, Score
    from cujeval.spec.options import RunOptions
    from cujeval.spec.suite import Journey, Settings, SLOSpec, Suite

from cujeval.load.cost import success_spec
from cujeval.load.profile import (
    MAX_POINTS,
    MAX_SATURATION_SERIES,
    OPERATIONAL_SLIS,
    LoadProfile,
    arrivals,
    per_request,
)
from cujeval.load.recorders import (
    Series,
    StepStats,
    _RequestRow,
    _Sampled,
    _Saturation,
    steps_of,
)
from cujeval.load.signals import find_knee, golden_signals, step_report


def _cheap(scorer: BuiltScorer) -> bool:
    outs = [o for o in scorer.outputs if not o.endswith("*")]
    return bool(outs) and all(o in OPERATIONAL_SLIS for o in outs)


def saturation_columns(stats: StepStats) -> Columns:
    """A step's scrapes as rows, one per second: SLI ``saturation.<series>`` holds the value.
    Scrapes ten seconds apart or less share a cluster (a gauge read each second is not
    independent from one second to the next), which widens a ratio SLO's interval."""
    columns = Columns()
    series = {k: v.samples for k, v in stats.saturation.items()}
    for i in range(max((len(v) for v in series.values()), default=0)):
        values = {f"{SATURATION}{k}": v[i] for k, v in series.items() if i < len(v)}
        columns.add(f"scrape-{i}", 0, True, values, cluster=f"scrapes-{i // 10}")
    return columns


def _obs_key(case: GoldenCase, obs: Observation) -> str:
    text = obs.model_dump_json(exclude={"latency_s", "ttft_s", "attempts", "steps"})
    return hashlib.sha256(f"{case.id}\x1f{text}".encode()).hexdigest()


def pick_journey(suite: Suite, name: str | None) -> Journey:
    if name is None:
        return suite.journeys[0]
    for j in suite.journeys:
        if j.name == name:
            return j
    from cujeval.errors import UnknownNameError

    raise UnknownNameError("journey", name, [j.name for j in suite.journeys], field="--journey")


def metrics_url_of(spec: Any) -> str | None:
    """The origin of the target's URL + /metrics (http and openai targets), else None."""
    from urllib.parse import urlsplit

    url = getattr(spec, "url", None) or getattr(spec, "base_url", None)
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/metrics"


class LoadRun:
    """One open-loop run of one journey; :meth:`go` sends, :meth:`score` judges the sample."""

    def __init__(
        self,
        plan: JourneyPlan,
        settings: Settings,
        profile: LoadProfile,
        cases: Sequence[GoldenCase],
        *,
        clock: Callable[[], float] = time.perf_counter,
        progress: bool = False,
    ) -> None:
        self.plan = plan
        self.settings = settings
        self.profile = profile
        self.cases = list(cases)
        self.clock = clock
        self.progress = progress
        self.cheap = [s for s in plan.scorers if _cheap(s)]
        self.costly = [s for s in plan.scorers if not _cheap(s)]
        self.quality = any(not per_request(s, plan.journey) for s in plan.journey.slos) or any(
            s.name == "cost_usd" for s in plan.scorers
        )
        self.rng = random.Random(profile.seed)
        self._sample_rng = random.Random(profile.seed + 1)
        self.stats = [
            StepStats(step, start, profile, profile.seed + 10 + i)
            for i, (step, start) in enumerate(zip(profile.steps, profile.starts(), strict=True))
        ]
        width = max(1.0, math.ceil((profile.total_s + 60.0) / MAX_POINTS))
        self.series = Series(width)
        self.in_flight = 0
        self.seq = 0
        self.ramp_sent = 0
        self.abort_reason: str | None = None
        self.t0 = 0.0
        self.elapsed = 0.0
        self.scraper: Any = None
        self.notes: list[str] = []
        self.case_columns: list[Columns] = []
        self._stop = asyncio.Event()

    # -- sending

    def _step_at(self, t: float) -> StepStats | None:
        for s in self.stats:
            if s.start <= t < s.end:
                return s
        return None

    async def go(self) -> None:
        """Send every scheduled request, wait for the last answers, stop the scraper."""
        tasks: set[asyncio.Task[None]] = set()
        scraper_task = self._start_scraper()
        ticker = asyncio.create_task(self._tick())
        self.t0 = self.clock() + 0.05
        arrivals_rng = random.Random(self.profile.seed + 2)
        behind = 0
        try:
            for offset, index in arrivals(self.profile, arrivals_rng):
                if self.abort_reason:
                    break
                due = self.t0 + offset
                delay = due - self.clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                    behind = 0
                else:  # behind schedule: send at once, but let the sent requests run too
                    behind += 1
                    if behind % 64 == 0:
                        await asyncio.sleep(0)
                stats = self.stats[index] if index >= 0 else None
                self.series.scheduled(offset)
                if stats is not None:
                    stats.scheduled += 1
                    if offset >= stats.half:
                        stats.scheduled_second_half += 1
                if self.in_flight >= self.profile.max_in_flight:
                    if stats is not None:  # an error of the request SLIs, as a user saw it
                        stats.not_sent += 1
                        stats.statuses["not_sent"] += 1
                        case = self.cases[self.seq % len(self.cases)]
                        self.seq += 1
                        task = asyncio.create_task(self._not_sent(case, self.seq, stats))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    continue
                case = self.cases[self.seq % len(self.cases)]
                epoch = self.seq // len(self.cases)
                self.seq += 1
                task = asyncio.create_task(self._one(case, epoch, self.seq, due, stats))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*list(tasks))
        finally:
            for task in list(tasks):
                task.cancel()
            if tasks:
                await asyncio.gather(*list(tasks), return_exceptions=True)
            self.elapsed = self.clock() - self.t0
            self._stop.set()
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
            if scraper_task is not None:
                await asyncio.gather(scraper_task, return_exceptions=True)
            self.series.finish(self.elapsed)

    async def _tick(self) -> None:
        last_shown = -10.0
        while True:
            await asyncio.sleep(0.25)
            t = self.clock() - self.t0
            self.series._at(max(0.0, t))
            if self.progress and t - last_shown >= 5.0:
                last_shown = t
                done = sum(s.completed for s in self.stats)
                print(
                    f"load: {t:5.0f} s of {self.profile.total_s:g} s, {done} answered, "
                    f"{self.in_flight} in flight",
                    file=sys.stderr,
                )

    def _start_scraper(self) -> asyncio.Task[None] | None:
        url = self.profile.metrics_url
        if url is None:
            url = metrics_url_of(self.plan.spec)
        if not url:
            self.notes.append("saturation: no /metrics to scrape")
            return None
        from cujeval.load.metrics import Scraper

        named = tuple(
            s.series.removesuffix(":rate") for s in self.plan.journey.slos if s.series is not None
        )
        self.scraper = Scraper(url, self._on_saturation, wanted=self.profile.saturation, also=named)
        return asyncio.create_task(self.scraper.run(self._stop))

    def _on_saturation(self, now: float, values: dict[str, float]) -> None:
        t = now - self.t0
        if t < 0:
            return
        self.series.saturation(t, values)
        stats = self._step_at(t)
        if stats is None:
            return
        for key, value in values.items():
            sat = stats.saturation.get(key)
            if sat is None:
                if len(stats.saturation) >= MAX_SATURATION_SERIES:
                    continue
                sat = stats.saturation[key] = _Saturation()
            sat.add(value)

    async def _one(
        self, case: GoldenCase, epoch: int, seq: int, due: float, stats: StepStats | None
    ) -> None:
        from cujeval.engine.case import call_case, score_case

        sent = self.clock()
        self.in_flight += 1
        self.series.sent(sent - self.t0, self.in_flight)
        if stats is not None:
            stats.sent += 1
            stats.send_lag.record(max(0.0, sent - due))
            stats.in_flight_max = max(stats.in_flight_max, self.in_flight)
        else:
            self.ramp_sent += 1
        try:
            obs = await call_case(self.plan.target, case, self.settings, self.rng)
        except RunAborted as exc:
            self.abort_reason = self.abort_reason or str(exc)
            return
        finally:
            self.in_flight -= 1
        end = self.clock()
        latency = end - due
        self.series.done(end - self.t0, obs.ok, latency, self.in_flight)
        if stats is None:
            return
        done_in = self._step_at(end - self.t0)
        if done_in is not None:
            done_in.completed_in_window += 1
            done_in.ok_in_window += 1 if obs.ok else 0
            if end - self.t0 >= done_in.half:
                done_in.completed_second_half += 1
        stats.completed += 1
        stats.statuses[obs.status] += 1
        raw_latency, raw_ttft = obs.latency_s, obs.ttft_s
        shift = latency - raw_latency if raw_latency is not None else 0.0
        obs = obs.model_copy(
            update={
                "latency_s": latency if raw_latency is not None else None,
                "ttft_s": raw_ttft + shift if raw_ttft is not None else None,
            }
        )
        if obs.ok:
            stats.latency.record(latency)
            if obs.ttft_s is not None:
                stats.ttft.record(obs.ttft_s)
            self._tokens(stats, obs, raw_latency, raw_ttft)
            timed = steps_of(obs)
            if timed is not None:
                stats.tails.add(latency, timed[0], timed[1])
        else:
            stats.error_latency.record(latency)
        scores, failed = await score_case(self.cheap, case, obs)
        for name in failed:
            stats.scorer_errors[name] += 1
        stats.requests.offer(
            _RequestRow(
                case_id=f"{case.id}#{seq}",
                seq=seq,
                cluster=case.id,
                ok=obs.ok,
                values={k: v.value for k, v in scores.items()},
                scorer_errors=[k for k, v in scores.items() if v.metadata.get("scorer_error")],
            )
        )
        if self.quality and self._sample_rng.random() < self.profile.score_share:
            stats.sampled.offer(_Sampled(case, epoch, obs))

    async def _not_sent(self, case: GoldenCase, seq: int, stats: StepStats) -> None:
        """A request the in-flight cap kept from being sent: a failed request to every
        request SLI (error true, no latency), never a silent gap in the evidence."""
        from cujeval.engine.case import score_case

        obs = Observation(
            status="not_sent",
            error=f"not sent: {self.profile.max_in_flight} requests already in flight",
        )
        scores, _ = await score_case(self.cheap, case, obs)
        stats.requests.offer(
            _RequestRow(
                case_id=f"{case.id}#{seq}",
                seq=seq,
                cluster=case.id,
                ok=False,
                values={k: v.value for k, v in scores.items()},
                scorer_errors=[k for k, v in scores.items() if v.metadata.get("scorer_error")],
            )
        )

    @staticmethod
    def _tokens(
        stats: StepStats, obs: Observation, latency: float | None, ttft: float | None
    ) -> None:
        """Inter-token latency and output tokens/s of a streamed answer, from its own timing:
        (latency − TTFT) over the completion tokens after the first."""
        tokens = obs.usage.completion_tokens if obs.usage else 0
        if latency is None or ttft is None or tokens < 2:
            return
        generating = latency - ttft
        if generating <= 0:
            return
        stats.itl.record(generating / (tokens - 1))
        stats.tokens_per_s.record(tokens / generating)

    # -- scoring and judging

    async def score(self) -> None:
        """Every scorer on each step's sampled responses (identical ones judged once)."""
        if not self.quality:
            return
        from cujeval.engine.case import score_case

        cache: dict[str, tuple[dict[str, Score], list[str]]] = {}
        total = sum(len(s.sampled.items) for s in self.stats)
        done = 0
        started = time.monotonic()
        if self.progress and total:
            print(f"load: scoring {total} sampled responses", file=sys.stderr)
        for stats in self.stats:
            columns = Columns()
            for item in stats.sampled.items:
                key = _obs_key(item.case, item.obs)
                if key not in cache:
                    cache[key] = await score_case(self.costly, item.case, item.obs)
                costly, failed = cache[key]
                cheap, cheap_failed = await score_case(self.cheap, item.case, item.obs)
                scores = {**costly, **cheap}
                for name in (*failed, *cheap_failed):
                    stats.scorer_errors[name] += 1
                columns.add(
                    item.case.id,
                    item.epoch,
                    item.obs.ok,
                    {k: v.value for k, v in scores.items()},
                    cluster=item.case.cluster,
                    scorer_errors=[k for k, v in scores.items() if v.metadata.get("scorer_error")],
                )
                done += 1
                if self.progress and done % 200 == 0:
                    print(
                        f"load: scored {done} of {total} ({time.monotonic() - started:.0f} s)",
                        file=sys.stderr,
                    )
            self.case_columns.append(columns)

    def request_columns(self, stats: StepStats) -> Columns:
        columns = Columns()
        for row in sorted(stats.requests.items, key=lambda r: r.seq):
            columns.add(
                row.case_id,
                0,
                row.ok,
                row.values,
                cluster=row.cluster,
                scorer_errors=row.scorer_errors,
            )
        return columns

    def verdicts(self, i: int) -> list[SLOResult]:
        """The journey's SLOs at step ``i``, in the suite's order."""
        from cujeval.core.slo import evaluate_journey, under_rate

        judged = under_rate(self.plan.journey, self.stats[i].step.rate)

        def only(slos: Iterable[SLOSpec]) -> Journey:
            return judged.model_copy(update={"slos": tuple(slos)})

        by_name: dict[str, SLOResult] = {}
        gauges = only(s for s in judged.slos if s.saturation)  # over the step's scrapes
        rest = only(s for s in judged.slos if not s.saturation)
        ops = only(s for s in rest.slos if per_request(s, rest))  # over the step's requests
        for journey, columns in (
            (gauges, saturation_columns(self.stats[i])),
            (ops, self.request_columns(self.stats[i])),
        ):
            if journey.slos:
                for r in evaluate_journey(journey, columns, self.settings):
                    by_name[r.name] = r
        if len(ops.slos) < len(rest.slos):  # the rest over the step's golden cases
            columns = self.case_columns[i] if self.case_columns else Columns()
            for r in evaluate_journey(rest, columns, self.settings):
                by_name.setdefault(r.name, r)
        return [by_name[s.name] for s in judged.slos]


@dataclass
class PlannedLoad:
    """A load run checked and ready: one journey, its plan, its cases."""

    suite: Suite
    settings: Settings
    plan: JourneyPlan
    cases: list[GoldenCase]

    def case_counts(self, limit: int | None) -> dict[str, int]:
        return {}  # judged per request and per sampled case, not on the golden set once


class LoadEngine:
    """Open-loop load on one journey's target (``profile``): the run stage of ``cujeval load``
    (and of a scenario under load). Each load step is judged as a journey of its own, named
    ``journey@RATE/s`` when there are several."""

    name = "load"
    ledger = False  # a load step is judged on its own: no budget, no baseline

    def __init__(self, profile: LoadProfile, journey: str | None = None) -> None:
        self.profile = profile
        self.journey = journey

    def plan(self, suite: Suite, options: RunOptions) -> PlannedLoad:
        from cujeval.engine.plan import prepare
        from cujeval.spec import dataset

        profile = self.profile
        chosen = pick_journey(suite, self.journey)
        one = suite.model_copy(update={"journeys": (chosen,)})
        opts = options.model_copy(update={"concurrency": min(profile.max_in_flight, 4096)})
        settings, plans = prepare(one, opts)
        settings = settings.model_copy(update={"retries": profile.retries})
        plan = plans[0]
        if profile.success_slo is not None:
            success_spec(chosen, profile.success_slo)
        cases = list(dataset.iter_cases(plan.info.path))
        if not cases:
            raise InputError("the journey's dataset holds no case", file=plan.info.path)
        return PlannedLoad(one, settings, plan, cases)

    async def execute(self, planned: PlannedLoad, options: RunOptions) -> Execution:
        """Offer the profile's load, score, judge each step's SLOs. A refused authorisation
        or an interrupt ends the run early with what finished."""
        plan = planned.plan
        options.output_dir.mkdir(parents=True, exist_ok=True)
        run = LoadRun(
            plan, planned.settings, self.profile, planned.cases, progress=options.progress
        )
        started = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            await run.go()
        except asyncio.CancelledError:
            run.abort_reason = run.abort_reason or "interrupted"
        finally:
            await plan.target.aclose()
        completed = sum(s.completed for s in run.stats)
        answered = any(s.statuses[k] for s in run.stats for k in ANSWERED)
        if not run.abort_reason and completed and not answered:
            first = next((k for s in run.stats for k in s.statuses if k != "ok"), "error")
            run.abort_reason = f"target {plan.target.name!r} answered no call ({first})"
        await run.score()
        return judge_steps(planned.suite, run, started)


def judge_steps(suite: Suite, run: LoadRun, started: str) -> Execution:
    """Verdicts per step and the ``load`` section. Long: the section's fields are assembled
    in one place, next to the notes they need."""
    from cujeval.core.aggregate import summarise
    from cujeval.engine.execution import Execution, slo_entry
    from cujeval.spec.results import DatasetEntry, JourneyResult

    plan, journey = run.plan, run.plan.journey
    prices: dict[str, Any] = {}
    if any(sc.name == "cost_usd" for sc in plan.scorers):
        from cujeval.scorers.cost import price_table_info

        prices = price_table_info()
    several = len(run.stats) > 1
    journeys: list[JourneyResult] = []
    steps: list[dict[str, Any]] = []
    for i, s in enumerate(run.stats):
        name = f"{journey.name}@{s.step.rate:g}/s" if several else journey.name
        results = run.verdicts(i)
        steps.append(step_report(run, i, results))
        req = run.request_columns(s)
        slis = {e.name: e for e in summarise(req) if e.name in OPERATIONAL_SLIS}
        if run.case_columns:
            for e in summarise(run.case_columns[i]):
                slis.setdefault(e.name, e)
        journeys.append(
            JourneyResult(
                name=name,
                description=journey.description,
                target=plan.target.description,
                dataset=DatasetEntry(
                    path=str(plan.info.path), digest=plan.info.digest, n_cases=plan.info.n_cases
                ),
                scorers=[sc.name for sc in plan.scorers],
                n_rows=s.completed + s.not_sent,
                n_errors=sum(v for k, v in s.statuses.items() if k != "ok"),
                n_cases=len({r.cluster for r in s.requests.items}),
                errors_by_status={k: v for k, v in sorted(s.statuses.items()) if k != "ok"},
                scorer_errors=dict(sorted(s.scorer_errors.items())),
                slis=[slis[k] for k in sorted(slis)],
                slos=[slo_entry(r) for r in results],
            )
        )
    scraped = sorted({k for s in run.stats for k in s.saturation})
    rates = [s.step.rate for s in run.stats]
    for spec in journey.slos:
        if spec.series is not None and spec.series not in scraped:
            run.notes.append(
                f"SLO {spec.name}: no series {spec.series!r} was scraped (scraped: "
                f"{', '.join(scraped) or 'none'}); its verdict is NO_DATA"
            )
        rate = spec.at_rate
        if rate is not None and not any(math.isclose(rate, x, rel_tol=1e-9) for x in rates):
            run.notes.append(
                f"SLO {spec.name} ({spec.objective}) not judged: no step at {rate:g}/s "
                f"(steps: {', '.join(f'{x:g}/s' for x in rates)})"
            )
    load: dict[str, Any] = {
        "journey": journey.name,
        "target": plan.target.description,
        "profile": run.profile.describe(),
        "method": {
            "loop": "open: requests sent at their scheduled times, never waiting for answers",
            "latency_from": "each request's scheduled start (no coordinated omission)",
            "histogram": "log-bucketed, ±1 % relative (cujeval.load.hist), fixed memory",
            "slo_rows": "operational SLIs per request (clustered by case); others per case",
        },
        "elapsed_s": run.elapsed,
        "ramp_sent": run.ramp_sent,
        "steps": steps,
        "golden_signals": golden_signals(run),
        "knee": find_knee(run, steps),
        "saturation_source": run.scraper.report() if run.scraper is not None else None,
        "timeseries": {"interval_s": run.series.width, "points": run.series.points},
        "notes": run.notes,
    }
    if run.scraper is not None and run.scraper.scrapes == 0:
        from cujeval._util.redact import redact_url

        run.notes.append(
            f"saturation: nothing scraped from {redact_url(run.scraper.url)} "
            f"({run.scraper.last_error}); name another with --metrics-url"
        )
        load["saturation_source"]["url"] = redact_url(run.scraper.url)
    elif run.scraper is not None:
        from cujeval._util.redact import redact_url

        load["saturation_source"]["url"] = redact_url(run.scraper.url)
    return Execution(
        suite=suite,
        settings=run.settings,
        started=started,
        journeys=journeys,
        abort_reason=run.abort_reason,
        notes=[f"load: {n}" for n in run.notes],
        price_table=prices,
        load=load,
    )


__all__ = ["LoadEngine", "LoadRun", "PlannedLoad", "judge_steps"]
