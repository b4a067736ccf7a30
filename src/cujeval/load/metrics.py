"""Saturation read from the target during a load run: its Prometheus ``/metrics`` text, scraped
about once a second.

The text exposition format is parsed here (``prometheus_client`` is not a dependency and its
parser would be the only thing used): ``# TYPE`` lines, samples ``name{label="v",...} value
[timestamp]``, label values with ``\\"``, ``\\\\`` and ``\\n`` escapes, ``NaN`` and ``±Inf``.
Gauges are reported as read; counters as their rate per second between two scrapes (so
``process_cpu_seconds_total`` reads as CPU cores busy).

Which series: those the run names (``--saturation NAME``, a metric name or one series such as
``queue{pool="gen"}``), else every gauge or counter whose name speaks of saturation (in flight,
queue, concurrency, active, slots, utilisation, CPU), at most MAX_SERIES of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp

MAX_SERIES = 16
MAX_BYTES = 4 * 1024 * 1024
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})?\s+(\S+)(?:\s+\S+)?\s*$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_SATURATION = re.compile(
    r"in_?flight|queue|concurren|active|slots|saturat|utili[sz]ation|cpu|pending|waiting",
    re.IGNORECASE,
)
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float

    @property
    def key(self) -> str:
        """``name{a="x",b="y"}`` (labels sorted), or the bare name."""
        if not self.labels:
            return self.name
        inner = ",".join(f'{k}="{v}"' for k, v in self.labels)
        return f"{self.name}{{{inner}}}"


def _unescape(text: str) -> str:
    return re.sub(r"\\[\\\"n]", lambda m: _ESCAPES[m.group(0)], text)


def _number(text: str) -> float | None:
    low = text.lower()
    if low in ("nan",):
        return math.nan
    if low in ("+inf", "inf"):
        return math.inf
    if low == "-inf":
        return -math.inf
    try:
        return float(text)
    except ValueError:
        return None


def parse_prometheus(text: str) -> tuple[dict[str, str], list[Sample]]:
    """(metric name -> type, samples) of a text exposition; lines it cannot read are skipped."""
    types: dict[str, str] = {}
    samples: list[Sample] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3].strip().lower()
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        value = _number(m.group(3))
        if value is None:
            continue
        labels: list[tuple[str, str]] = []
        inner = m.group(2)
        if inner:
            pos = 0
            ok = True
            while pos < len(inner):
                lm = _LABEL.match(inner, pos)
                if not lm or lm.end() == pos:
                    ok = inner[pos:].strip() == ""
                    break
                labels.append((lm.group(1), _unescape(lm.group(2))))
                pos = lm.end()
            if not ok:
                continue
        samples.append(Sample(m.group(1), tuple(sorted(labels)), value))
    return types, samples


def _type_of(name: str, types: dict[str, str]) -> str:
    if name in types:
        return types[name]
    for suffix in ("_total", "_count", "_sum", "_bucket", "_created"):
        base = name.removesuffix(suffix)
        if base != name and base in types:
            return types[base] if suffix == "_total" else "other"
    return "untyped"


def select(
    types: dict[str, str],
    samples: Iterable[Sample],
    wanted: tuple[str, ...],
    also: tuple[str, ...] = (),
) -> dict[str, tuple[str, float]]:
    """Series key -> (kind, value): the wanted ones, else the saturation-looking ones; and
    those named in ``also`` (the suite's saturation SLOs) in either case."""
    out: dict[str, tuple[str, float]] = {}
    for s in samples:
        kind = _type_of(s.name, types)
        if kind in ("histogram", "summary", "other"):
            continue
        key = s.key
        if s.name in also or key in also:
            pass
        elif wanted:
            if s.name not in wanted and key not in wanted:
                continue
        elif not _SATURATION.search(s.name):
            continue
        if len(out) >= MAX_SERIES and key not in out:
            continue
        out[key] = ("counter" if kind == "counter" else "gauge", s.value)
    return out


@dataclass
class Scraper:
    """Scrape ``url`` every ``interval_s`` until stopped; ``on_values(t, {series: value})``
    gets gauges as read and counters as rates (``name:rate`` per second)."""

    url: str
    on_values: Callable[[float, dict[str, float]], None]
    wanted: tuple[str, ...] = ()
    interval_s: float = 1.0
    also: tuple[str, ...] = ()  # read whatever ``wanted`` says (the suite's saturation SLOs)
    timeout_s: float = 2.0
    clock: Callable[[], float] = time.perf_counter
    scrapes: int = 0
    failures: int = 0
    last_error: str | None = None
    kinds: dict[str, str] = field(default_factory=dict)
    _previous: dict[str, tuple[float, float]] = field(default_factory=dict)

    async def once(self, session: aiohttp.ClientSession) -> bool:
        import aiohttp

        try:
            async with asyncio.timeout(self.timeout_s):
                async with session.get(self.url, allow_redirects=False) as resp:
                    if resp.status != 200:
                        raise ValueError(f"HTTP {resp.status}")
                    body = await resp.content.read(MAX_BYTES)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            return False
        self.scrapes += 1
        now = self.clock()
        types, samples = parse_prometheus(body.decode("utf-8", "replace"))
        values: dict[str, float] = {}
        for key, (kind, value) in select(types, samples, self.wanted, self.also).items():
            self.kinds[key] = kind
            if kind == "gauge":
                values[key] = value
                continue
            before = self._previous.get(key)
            self._previous[key] = (now, value)
            if before is not None and now > before[0] and value >= before[1]:
                values[f"{key}:rate"] = (value - before[1]) / (now - before[0])
        self.on_values(now, values)
        return True

    async def run(self, stop: asyncio.Event) -> None:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
            while not stop.is_set():
                await self.once(session)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval_s)

    def report(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "scrapes": self.scrapes,
            "failures": self.failures,
            "last_error": self.last_error,
            "series": dict(sorted(self.kinds.items())),
        }
