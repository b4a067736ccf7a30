"""The small grammar of SLO predicates. Parsed, never ``eval``-ed.

    per-case predicate:   SLI OP VALUE          faithfulness >= 0.8 | error == false
    aggregate objective:  STAT(SLI) OP NUMBER   p95(latency_s) <= 2.0 | mean(cost_usd) < 0.002
    per success:          per_success(SLI, SLO) OP NUMBER
                                                per_success(cost_usd, journey-success) <= 0.0005

SLI names are identifiers that may contain ``@ : . -`` (``precision@5``,
``instruction:punctuation:no_comma``). OP is one of ``>= > <= < == !=``. VALUE is a number or
``true``/``false``. STAT is mean, median, min, max or pNN (p50, p90, p95, p99, ...).
``per_success`` is the SLI summed over every case ÷ the cases good by a ratio or journey SLO of
the same journey (cost per successful journey: what a success really costs, failures included).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_SLI = r"[A-Za-z_][A-Za-z0-9_@:.\-]*"
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PRED = re.compile(rf"^\s*({_SLI})\s*(>=|<=|==|!=|>|<)\s*({_NUM}|true|false|True|False)\s*$")
_OBJ = re.compile(
    rf"^\s*([a-z][a-z0-9_]*)\s*\(\s*({_SLI})\s*(?:,\s*([A-Za-z0-9][A-Za-z0-9_.\-]*)\s*)?\)"
    rf"\s*(>=|<=|==|!=|>|<)\s*({_NUM})(?:\s+at\s+({_NUM})\s*/\s*s)?\s*$"
)
_STAT = re.compile(r"^(mean|median|min|max|p\d{1,2}(?:\.\d+)?|per_success)$")
PER_SUCCESS = "per_success"
# SLIs read from the target's /metrics during `cujeval load` (one value per scrape), not
# written by a scorer: ``saturation.cujeval_rag_queue_depth``
SATURATION = "saturation."


def _value(text: str) -> float:
    low = text.lower()
    if low in ("true", "false"):
        return 1.0 if low == "true" else 0.0
    return float(text)


@dataclass(frozen=True)
class Predicate:
    """``sli op value``, true for a case whose SLI value satisfies it."""

    sli: str
    op: str
    value: float

    def __call__(self, x: float | bool) -> bool:
        return _OPS[self.op](float(x), self.value)

    def __str__(self) -> str:
        return f"{self.sli} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Objective:
    """``stat(sli) op bound`` over all scorable cases of a journey."""

    statistic: str
    sli: str
    op: str
    bound: float
    success: str | None = None  # per_success: the ratio or journey SLO that counts successes
    at_rate: float | None = None  # `... at 20/s`: judged only under load at that rate

    def holds(self, x: float) -> bool:
        return _OPS[self.op](x, self.bound)

    @property
    def higher_is_better(self) -> bool:
        return self.op in (">=", ">")

    def __str__(self) -> str:
        args = self.sli if self.success is None else f"{self.sli}, {self.success}"
        at = "" if self.at_rate is None else f" at {self.at_rate:g}/s"
        return f"{self.statistic}({args}) {self.op} {self.bound:g}{at}"


def parse_predicate(text: str) -> Predicate:
    """Parse ``faithfulness >= 0.8``; ValueError with the expected form otherwise."""
    m = _PRED.match(str(text))
    if not m:
        raise ValueError(
            f"cannot parse predicate {text!r}; expected 'SLI OP VALUE', e.g. 'faithfulness >= 0.8'"
        )
    return Predicate(sli=m.group(1), op=m.group(2), value=_value(m.group(3)))


def parse_objective(text: str) -> Objective:
    """Parse ``p95(latency_s) <= 2.0``; ValueError with the expected form otherwise."""
    m = _OBJ.match(str(text))
    if not m:
        raise ValueError(
            f"cannot parse objective {text!r}; expected 'STAT(SLI) OP NUMBER', "
            "e.g. 'p95(latency_s) <= 2.0', or 'per_success(SLI, SLO) OP NUMBER', optionally "
            "judged under load at a rate: 'p99(latency_s) <= 2.0 at 20/s'"
        )
    stat, sli, success, op, bound, at = m.groups()
    at_rate = None if at is None else float(at)
    if at_rate is not None and not 0 < at_rate < float("inf"):
        raise ValueError(f"{text!r}: the rate after 'at' must be above 0 requests per second")
    if not _STAT.match(stat):
        raise ValueError(
            f"unknown statistic {stat!r} in {text!r}; use mean, median, min, max, pNN (p95) "
            "or per_success"
        )
    if stat == PER_SUCCESS and success is None:
        raise ValueError(
            f"{text!r}: per_success needs the SLO that counts successes, "
            "e.g. 'per_success(cost_usd, journey-success) <= 0.0005'"
        )
    if stat != PER_SUCCESS and success is not None:
        raise ValueError(f"{text!r}: only per_success takes a second argument (an SLO name)")
    if stat.startswith("p") and stat != PER_SUCCESS and not 0 < float(stat[1:]) < 100:
        raise ValueError(f"percentile {stat!r} must be between p0 and p100")
    return Objective(
        statistic=stat, sli=sli, op=op, bound=float(bound), success=success, at_rate=at_rate
    )


def _checked_objective(text: str | None) -> str | None:
    if text is not None:
        parse_objective(text)
    return text


# a suite field holding an aggregate objective, checked as the suite is read
ObjectiveText = Annotated[str | None, AfterValidator(_checked_objective)]
