"""Bounded recorders of a load run: reservoir samples, the per-step tail of Server-Timing
steps, the per-second time series, saturation samples and each step's figures."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from cujeval.load.hist import LogHistogram, SparseHistogram, bucket_of, quantile_label
from cujeval.load.profile import (
    MAX_POINTS,
    MAX_SATURATION_SAMPLES,
    MAX_STEP_NAMES,
    TAIL_QUANTILE,
    LoadProfile,
    LoadStep,
)
from cujeval.spec.records import GoldenCase, Observation

T = TypeVar("T")


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
