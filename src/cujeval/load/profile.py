"""The load profile: steps of a rate and a duration, the arrival process (constant or Poisson,
optionally after a linear ramp), and the bounds that keep a run's memory fixed."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from cujeval.errors import InputError

if TYPE_CHECKING:
    from cujeval.spec.suite import Journey, SLOSpec


OPERATIONAL_SLIS = frozenset({"latency_s", "ttft_s", "error", "task_latency_s"})
MAX_POINTS = 3600  # time-series windows kept; longer runs get wider windows
MAX_STEPS = 50
MAX_STEP_NAMES = 32
MAX_SATURATION_SERIES = 16
MAX_SATURATION_SAMPLES = 3600  # per series and step: an hour of scrapes
TAIL_QUANTILE = 0.99

T = TypeVar("T")


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


def _slo_slis(spec: SLOSpec, journey: Journey) -> list[str]:
    if spec.kind == "aggregate":
        return [spec.parsed_objective.sli]
    if spec.kind == "ratio":
        return [spec.predicate.sli]
    return [s.predicate.sli for s in journey.slos if s.name in (spec.all_of or ())]


def per_request(spec: SLOSpec, journey: Journey) -> bool:
    """Judged with each request as a row (operational SLIs), or per golden case (journey
    SLOs, and per_success, whose successes another SLO counts)."""
    if spec.kind == "aggregate" and spec.parsed_objective.success is not None:
        return False
    return spec.kind != "journey" and all(s in OPERATIONAL_SLIS for s in _slo_slis(spec, journey))
