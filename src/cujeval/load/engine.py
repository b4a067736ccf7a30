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
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from cujeval.core.aggregate import Columns
from cujeval.errors import InputError, RunAborted
from cujeval.load.hist import LogHistogram, SparseHistogram, bucket_of, quantile_label
from cujeval.spec.predicates import SATURATION
from cujeval.spec.records import ANSWERED, GoldenCase, Observation

if TYPE_CHECKING:
    from cujeval.core.slo import SLOResult
    from cujeval.engine.execution import Execution
    from cujeval.engine.plan import JourneyPlan
    from cujeval.scorers.base import BuiltScorer, Score
    from cujeval.spec.options import RunOptions
    from cujeval.spec.suite import Journey, Settings, SLOSpec, Suite

OPERATIONAL_SLIS = frozenset({"latency_s", "ttft_s", "error", "task_latency_s"})
MAX_POINTS = 3600  # time-series windows kept; longer runs get wider windows
MAX_STEPS = 50
MAX_STEP_NAMES = 32
MAX_SATURATION_SERIES = 16
MAX_SATURATION_SAMPLES = 3600  # per series and step: an hour of scrapes
TAIL_QUANTILE = 0.99

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# the profile


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$")
_UNIT = {None: 1.0, "ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str | float, field: str = "--duration") -> float:
    """``"30s"``, ``"2m"``, ``"1.5h"``, ``"500ms"`` or a number of seconds -> seconds > 0."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        m = _DURATION.match(str(text))
        if not m:
            raise InputError(
                f"cannot read the duration {text!r}: use e.g. 30s, 2m, 1h or seconds",
                field=field,
            )
        seconds = float(m.group(1)) * _UNIT[m.group(2)]
    if not (math.isfinite(seconds) and seconds > 0):
        raise InputError(f"must be a duration > 0, got {text!r}", field=field)
    return seconds


def parse_rates(text: str, field: str = "--steps") -> tuple[float, ...]:
    """``"10,20,40"`` -> (10.0, 20.0, 40.0): requests per second, each > 0."""
    rates: list[float] = []
    for part in str(text).split(","):
        try:
            rate = float(part.strip().removesuffix("/s"))
        except ValueError:
            raise InputError(
                f"cannot read the rate {part.strip()!r}: give requests per second, e.g. 10,20,40",
                field=field,
            ) from None
        if not (math.isfinite(rate) and rate > 0):
            raise InputError(f"rates must be > 0, got {part.strip()!r}", field=field)
        rates.append(rate)
    if not rates or len(rates) > MAX_STEPS:
        raise InputError(f"give 1 to {MAX_STEPS} rates", field=field)
    return tuple(rates)


@dataclass(frozen=True)
class LoadStep:
    rate: float  # requests per second offered
    duration_s: float


@dataclass(frozen=True)
class LoadProfile:
    """What load to offer and how to judge it. ``ramp_s`` rises linearly from 0 to the first
    step's rate before it (its requests are sent and shown in the time series, not judged)."""

    steps: tuple[LoadStep, ...]
    arrival: Literal["constant", "poisson"] = "constant"
    ramp_s: float = 0.0
    score_share: float = 1.0
    max_scored: int = 1000
    max_requests_kept: int = 10_000
    max_in_flight: int = 1000
    retries: int = 0
    seed: int = 0
    metrics_url: str | None = None  # None: the target's origin + /metrics; "": no scraping
    saturation: tuple[str, ...] = ()
    knee_p99_s: float | None = None
    success_slo: str | None = None

    def __post_init__(self) -> None:
        if not self.steps or len(self.steps) > MAX_STEPS:
            raise InputError(f"give 1 to {MAX_STEPS} load steps", field="--steps")
        for s in self.steps:
            if not (math.isfinite(s.rate) and s.rate > 0):
                raise InputError(f"must be > 0, got {s.rate!r}", field="--rate")
            if not (math.isfinite(s.duration_s) and s.duration_s > 0):
                raise InputError(f"must be > 0, got {s.duration_s!r}", field="--duration")
        if self.arrival not in ("constant", "poisson"):
            raise InputError("use constant or poisson", field="--arrival")
        if not (math.isfinite(self.ramp_s) and self.ramp_s >= 0):
            raise InputError(f"must be >= 0, got {self.ramp_s!r}", field="--ramp")
        if not 0.0 <= self.score_share <= 1.0:
            raise InputError(f"must be in [0, 1], got {self.score_share!r}", field="--score-share")
        checks = (
            (self.max_scored, 1, "--max-scored"),
            (self.max_requests_kept, 100, "--max-requests-kept"),
            (self.max_in_flight, 1, "--max-in-flight"),
        )
        for value, low, name in checks:
            if value < low:
                raise InputError(f"must be >= {low}, got {value!r}", field=name)
        if not 0 <= self.retries <= 20:
            raise InputError(f"must be in 0..20, got {self.retries!r}", field="--retries")
        if self.knee_p99_s is not None and not self.knee_p99_s > 0:
            raise InputError(f"must be > 0, got {self.knee_p99_s!r}", field="--knee-p99")

    @property
    def total_s(self) -> float:
        return self.ramp_s + sum(s.duration_s for s in self.steps)

    def starts(self) -> list[float]:
        """Each step's start, in seconds from the start of the run."""
        out, t = [], self.ramp_s
        for s in self.steps:
            out.append(t)
            t += s.duration_s
        return out

    def describe(self) -> dict[str, Any]:
        d = asdict(self)
        d["steps"] = [asdict(s) for s in self.steps]
        d["saturation"] = list(self.saturation)
        d.pop("metrics_url")
        return d


def arrivals(profile: LoadProfile, rng: random.Random) -> Iterator[tuple[float, int]]:
    """(seconds from the start, step index; -1 during the ramp) of every request, in order.

    Constant: step i sends at start + k / rate. Poisson: exponential gaps of mean 1 / rate.
    The ramp's rate rises linearly from 0 to the first step's: constant arrivals at
    √(2·k·ramp / rate) (the k-th unit of the rate's integral), Poisson ones thinned."""
    if profile.ramp_s > 0:
        top, ramp = profile.steps[0].rate, profile.ramp_s
        if profile.arrival == "constant":
            k = 1
            while (t := math.sqrt(2.0 * k * ramp / top)) < ramp:
                yield t, -1
                k += 1
        else:
            t = rng.expovariate(top)
            while t < ramp:
                if rng.random() < t / ramp:
                    yield t, -1
                t += rng.expovariate(top)
    for i, (start, step) in enumerate(zip(profile.starts(), profile.steps, strict=True)):
        end = start + step.duration_s
        if profile.arrival == "constant":
            k = 0
            while (t := start + k / step.rate) < end - 1e-9:
                yield t, i
                k += 1
        else:
            t = start + rng.expovariate(step.rate)
            while t < end:
                yield t, i
                t += rng.expovariate(step.rate)


# ---------------------------------------------------------------------------------------------
# bounded recorders


class Reservoir(Generic[T]):
    """A uniform sample of at most ``capacity`` of the items offered (Algorithm R)."""

    def __init__(self, capacity: int, rng: random.Random) -> None:
        self.capacity = capacity
        self.items: list[T] = []
        self.seen = 0
        self._rng = rng

    def offer(self, item: T) -> None:
        self.seen += 1
        if len(self.items) < self.capacity:
            self.items.append(item)
            return
        j = self._rng.randrange(self.seen)
        if j < self.capacity:
            self.items[j] = item


class StepTails:
    """The journey's latency and each step's, with the steps' share of the journey's tail.

    Per latency bucket it keeps the sum of the journeys' latencies and of each step's time, so
    the tail (the requests at or above the journey's p99 bucket) can be split by step at the
    end in memory bounded by buckets × step names."""

    def __init__(self) -> None:
        self.journey = LogHistogram()
        self.steps: dict[str, LogHistogram] = {}
        self._latency: dict[int, float] = {}
        self._count: dict[int, int] = {}
        self._step: dict[int, dict[str, float]] = {}
        self.source: set[str] = set()

    def add(self, latency: float, steps: Mapping[str, float], source: str) -> None:
        if not steps or not math.isfinite(latency):
            return
        self.source.add(source)
        self.journey.record(latency)
        b = bucket_of(latency)
        self._latency[b] = self._latency.get(b, 0.0) + latency
        self._count[b] = self._count.get(b, 0) + 1
        sums = self._step.setdefault(b, {})
        for name, seconds in steps.items():
            hist = self.steps.get(name)
            if hist is None:
                if len(self.steps) >= MAX_STEP_NAMES:
                    continue
                hist = self.steps[name] = LogHistogram()
            hist.record(seconds)
            sums[name] = sums.get(name, 0.0) + seconds

    def report(self, q: float = TAIL_QUANTILE, confidence: float = 0.95) -> dict[str, Any] | None:
        if self.journey.n == 0:
            return None
        label = quantile_label(q)
        tail_at = self.journey.quantile(q)
        assert tail_at is not None
        first = bucket_of(tail_at)
        tail_latency = sum(v for b, v in self._latency.items() if b >= first)
        tail_n = sum(v for b, v in self._count.items() if b >= first)
        shares: dict[str, float] = {}
        for b, sums in self._step.items():
            if b >= first:
                for name, seconds in sums.items():
                    shares[name] = shares.get(name, 0.0) + seconds
        shares = {k: v / tail_latency for k, v in shares.items()} if tail_latency > 0 else {}
        steps = {}
        for name, hist in sorted(self.steps.items()):
            summary = hist.summary((0.5, 0.95, q), confidence)
            summary["tail_share"] = shares.get(name, 0.0)
            steps[name] = summary
        worst_name, worst = max(
            ((n, h.quantile(q) or 0.0) for n, h in self.steps.items()), key=lambda x: x[1]
        )
        dominant = max(shares, key=lambda k: shares[k]) if shares else None
        return {
            "source": sorted(self.source),
            "quantile": label,
            "n": self.journey.n,
            "journey": self.journey.summary((0.5, 0.95, q), confidence),
            "steps": steps,
            "tail": {
                "from_s": tail_at,
                "n": tail_n,
                "shares": shares,
                "unattributed_share": max(0.0, 1.0 - sum(shares.values())),
                "dominant": dominant,
            },
            "worst_step": worst_name,
            "worst_step_" + label: worst,
            "journey_" + label: tail_at,
            "amplification": tail_at / worst if worst > 0 else None,
        }


def steps_of(obs: Observation) -> tuple[dict[str, float], str] | None:
    """The target's own step timings: Server-Timing steps, else an agent's tool calls (seconds
    per tool name, summed over its calls in the request)."""
    if obs.steps:
        return dict(obs.steps), "server-timing"
    if obs.tool_calls:
        out: dict[str, float] = {}
        for call in obs.tool_calls:
            if call.latency_s is not None and math.isfinite(call.latency_s):
                key = f"tool:{call.name or '?'}"
                out[key] = out.get(key, 0.0) + call.latency_s
        if out:
            return out, "tool_calls"
    return None


@dataclass
class _Window:
    index: int
    offered: int = 0
    sent: int = 0
    completed: int = 0
    ok: int = 0
    errors: int = 0
    in_flight: int = 0
    latency: SparseHistogram = field(default_factory=SparseHistogram)
    saturation: dict[str, float] = field(default_factory=dict)


class Series:
    """Per-window counts and latency percentiles, at most MAX_POINTS windows."""

    def __init__(self, width_s: float) -> None:
        self.width = width_s
        self.points: list[dict[str, Any]] = []
        self._w = _Window(0)

    def _at(self, t: float) -> _Window:
        index = max(0, int(t // self.width))
        while index > self._w.index:
            self._close()
        return self._w

    def _close(self) -> None:
        w = self._w
        if len(self.points) < MAX_POINTS:
            lat = w.latency
            point: dict[str, Any] = {
                "t": round(w.index * self.width, 3),
                "offered_rate": w.offered / self.width,
                "sent_rate": w.sent / self.width,
                "achieved_rate": w.completed / self.width,
                "ok": w.ok,
                "errors": w.errors,
                "in_flight": w.in_flight,
                "p50": lat.quantile(0.5),
                "p95": lat.quantile(0.95),
                "p99": lat.quantile(0.99),
                "max": lat.max if lat.n else None,
            }
            if w.saturation:
                point["saturation"] = dict(w.saturation)
            self.points.append(point)
        self._w = _Window(w.index + 1, in_flight=w.in_flight)

    def scheduled(self, t: float) -> None:
        self._at(t).offered += 1

    def sent(self, t: float, in_flight: int) -> None:
        w = self._at(t)
        w.sent += 1
        w.in_flight = max(w.in_flight, in_flight)

    def done(self, t: float, ok: bool, latency: float, in_flight: int) -> None:
        w = self._at(t)
        w.completed += 1
        if ok:
            w.ok += 1
            w.latency.record(latency)
        else:
            w.errors += 1
        w.in_flight = max(w.in_flight, in_flight)

    def saturation(self, t: float, values: Mapping[str, float]) -> None:
        self._at(t).saturation.update(values)

    def finish(self, t: float) -> None:
        self._at(t)
        self._close()


@dataclass
class _Saturation:
    n: int = 0
    total: float = 0.0
    max: float = -math.inf
    last: float = math.nan
    # the scrapes themselves (one a second), for SLOs on ``saturation.<name>``: the first
    # MAX_SATURATION_SAMPLES of a step (an hour), so memory stays bounded
    samples: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        if math.isfinite(value):
            self.n += 1
            self.total += value
            self.max = max(self.max, value)
            self.last = value
            if len(self.samples) < MAX_SATURATION_SAMPLES:
                self.samples.append(value)

    def report(self) -> dict[str, float | None]:
        if not self.n:
            return {"n": 0, "mean": None, "max": None}
        return {"n": self.n, "mean": self.total / self.n, "max": self.max, "last": self.last}


@dataclass(slots=True)
class _RequestRow:
    case_id: str
    seq: int
    cluster: str
    ok: bool
    values: dict[str, Any]
    scorer_errors: list[str]


@dataclass(slots=True)
class _Sampled:
    case: GoldenCase
    epoch: int
    obs: Observation


class StepStats:
    """Everything recorded for one load step."""

    def __init__(self, step: LoadStep, start: float, profile: LoadProfile, seed: int) -> None:
        self.step = step
        self.start = start
        self.end = start + step.duration_s
        self.scheduled = 0
        self.sent = 0
        self.not_sent = 0
        self.completed = 0
        self.completed_in_window = 0
        self.ok_in_window = 0
        self.scheduled_second_half = 0  # steady state: arrivals and completions in the
        self.completed_second_half = 0  # second half of the step, free of edge effects
        self.half = start + step.duration_s / 2.0
        self.statuses: Counter[str] = Counter()
        self.latency = LogHistogram()
        self.error_latency = LogHistogram()
        self.ttft = LogHistogram()
        self.itl = LogHistogram()
        self.tokens_per_s = LogHistogram()
        self.send_lag = LogHistogram()
        self.in_flight_max = 0
        self.tails = StepTails()
        rng = random.Random(seed)
        self.requests: Reservoir[_RequestRow] = Reservoir(profile.max_requests_kept, rng)
        self.sampled: Reservoir[_Sampled] = Reservoir(profile.max_scored, rng)
        self.saturation: dict[str, _Saturation] = {}
        self.scorer_errors: Counter[str] = Counter()


# ---------------------------------------------------------------------------------------------
# the run


def _cheap(scorer: BuiltScorer) -> bool:
    outs = [o for o in scorer.outputs if not o.endswith("*")]
    return bool(outs) and all(o in OPERATIONAL_SLIS for o in outs)


def _slo_slis(spec: SLOSpec, journey: Journey) -> list[str]:
    if spec.kind == "aggregate":
        return [spec.parsed_objective.sli]
    if spec.kind == "ratio":
        return [spec.predicate.sli]
    return [s.predicate.sli for s in journey.slos if s.name in (spec.all_of or ())]


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


def per_request(spec: SLOSpec, journey: Journey) -> bool:
    """Judged with each request as a row (operational SLIs), or per golden case (journey
    SLOs, and per_success, whose successes another SLO counts)."""
    if spec.kind == "aggregate" and spec.parsed_objective.success is not None:
        return False
    return spec.kind != "journey" and all(s in OPERATIONAL_SLIS for s in _slo_slis(spec, journey))


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


# ---------------------------------------------------------------------------------------------
# cost per successful journey


def success_spec(journey: Journey, name: str | None) -> SLOSpec | None:
    """The SLO whose good cases count as successful journeys: ``name``, else the first
    journey-success (``all_of``) SLO, else None (every ratio SLO together)."""
    if name is not None:
        for s in journey.slos:
            if s.name == name and s.kind != "aggregate":
                return s
        from cujeval.errors import UnknownNameError

        ratio = [s.name for s in journey.slos if s.kind != "aggregate"]
        raise UnknownNameError("ratio or journey SLO", name, ratio, field="--success-slo")
    for s in journey.slos:
        if s.kind == "journey":
            return s
    return None


def success_rows(columns: Columns, journey: Journey, spec: SLOSpec | None) -> list[bool]:
    """Per row: the journey succeeded, by the rule of cujeval.core.slo for a journey SLO: every
    step's predicate good where scorable; a step the row could not be scored on is bad when the
    target failed or the step says ``unscorable: bad``; a row no step could judge is not a
    success."""
    import numpy as np

    if spec is not None and spec.kind == "ratio":
        steps = [spec]
    elif spec is not None:
        steps = [s for s in journey.slos if s.name in (spec.all_of or ())]
    else:
        steps = [s for s in journey.slos if s.kind == "ratio"]
    n = len(columns)
    ok = columns.ok_mask()
    valid = np.zeros(n, dtype=bool)
    good = np.ones(n, dtype=bool)
    for step in steps:
        pred = step.predicate
        col = columns.column(pred.sli)
        scorable = ~np.isnan(col)
        passed = np.zeros(n, dtype=bool)
        passed[scorable] = [pred(v) for v in col[scorable]]
        counts_bad = ~scorable & (~ok | (step.unscorable == "bad"))
        valid |= scorable | counts_bad
        good &= np.where(scorable, passed, ~counts_bad)
    return [bool(x) for x in (good & valid)]


def cost_per_success(
    columns: Columns,
    journey: Journey,
    spec: SLOSpec | None,
    *,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Total target cost ÷ successful journeys over the scored rows, with a percentile
    bootstrap interval that resamples golden cases (the case is the unit of evidence)."""
    import numpy as np

    name = spec.name if spec is not None else "all ratio SLOs"
    out: dict[str, Any] = {"success_slo": name, "n_rows": len(columns)}
    if "cost_usd" not in columns.values:
        out["note"] = "no cost_usd SLI: add the cost_usd scorer to the journey"
        return out
    cost = np.nan_to_num(columns.column("cost_usd"), nan=0.0)
    priced = int((~np.isnan(columns.column("cost_usd"))).sum())
    success = np.array(success_rows(columns, journey, spec), dtype=float)
    codes, ids = columns.case_codes()
    total, wins = float(cost.sum()), int(success.sum())
    out.update(
        total_cost_usd=total,
        priced_rows=priced,
        successes=wins,
        success_share=wins / len(columns) if len(columns) else None,
        cost_per_success_usd=total / wins if wins else None,
    )
    if not wins:
        out["note"] = "no successful journey: cost per success is unbounded"
        return out
    by_cost = np.bincount(codes, weights=cost, minlength=len(ids))
    by_win = np.bincount(codes, weights=success, minlength=len(ids))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(ids), size=(resamples, len(ids)))
    costs, winners = by_cost[draws].sum(axis=1), by_win[draws].sum(axis=1)
    ratios = np.sort(np.where(winners > 0, costs / np.maximum(winners, 1), np.inf))
    tail = (1.0 - confidence) / 2.0
    lo = float(ratios[math.floor(tail * (resamples - 1))])
    hi = float(ratios[math.ceil((1.0 - tail) * (resamples - 1))])
    out["interval"] = [lo, hi if math.isfinite(hi) else None]  # None: resamples without success
    out["confidence"] = confidence
    return out


# ---------------------------------------------------------------------------------------------
# reports


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


# ---------------------------------------------------------------------------------------------
# entry point


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
    """Verdicts per step and the ``load`` section."""
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


__all__ = [
    "LoadEngine",
    "LoadProfile",
    "LoadRun",
    "LoadStep",
    "Reservoir",
    "StepTails",
    "arrivals",
    "cost_per_success",
    "judge_steps",
    "parse_duration",
    "parse_rates",
    "success_rows",
]
