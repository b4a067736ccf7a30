"""What a drift check returns: plain frozen dataclasses that serialise to ``drift.json``.

``DriftResult`` (inputs: golden set vs traffic) and ``AnswerDriftResult`` (answers: run A vs
run B) share the shape a later drift SLO needs: ``drift`` (the decision at ``alpha``),
``p_value`` (the family's smallest Holm-adjusted p-value) and ``tests``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class TestResult:
    """One test of the family: its statistic, raw and Holm-adjusted p-values, the decision."""

    __test__ = False  # not a pytest class

    name: str
    question: str  # "shift" (has it moved?) or "where" (which topics, which gaps)
    statistic: float
    p_value: float
    adjusted_p: float
    drift: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    decides: bool = True  # False: reported only, outside the Holm family and the decision


@dataclass(frozen=True)
class TopicRow:
    name: str
    keywords: list[str]
    reference_count: int
    current_count: int
    reference_share: float
    current_share: float
    psi_term: float  # (c − r)·ln(c / r) of this bin, smoothed as the PSI is
    examples: list[str] = field(default_factory=list)  # golden inputs of the topic


@dataclass(frozen=True)
class GapExample:
    text: str
    similarity: float  # cosine similarity to the nearest golden input
    nearest: str  # that golden input


@dataclass(frozen=True)
class GapGroup:
    """Current inputs far from every golden case that resemble each other."""

    name: str
    keywords: list[str]
    size: int
    share: float  # of the current sample
    examples: list[GapExample]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    sample: str  # reference | current | gap
    text: str


@dataclass(frozen=True)
class DriftResult:
    """Golden set (reference) against a sample of traffic (current)."""

    alpha: float
    method: str
    n_reference: int
    n_current: int
    tests: list[TestResult]
    topics_source: str  # cluster | tags | embeddings
    topics: list[TopicRow]
    psi: float
    coverage_threshold: float  # cosine similarity under which an input is not covered
    coverage_quantile: float
    gaps: list[GapGroup]
    words: dict[str, dict[str, float]]  # reference / current: mean, median, p90
    languages: dict[str, dict[str, int]]  # reference / current: language -> count
    projection: list[Point] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kind: str = "inputs"

    @property
    def drift(self) -> bool:
        """Drift at ``alpha``: some test of the family rejects after Holm's adjustment."""
        return any(t.drift for t in self.tests)

    @property
    def p_value(self) -> float:
        """The smallest Holm-adjusted p-value: drift iff it is below ``alpha``."""
        return min((t.adjusted_p for t in self.tests if t.decides), default=1.0)

    @property
    def exit_code(self) -> int:
        return 1 if self.drift else 0

    def question(self, name: str) -> bool:
        """The decision on one question: ``shift`` or ``where``."""
        return any(t.drift for t in self.tests if t.question == name)

    def test(self, name: str) -> TestResult:
        for t in self.tests:
            if t.name == name:
                return t
        raise KeyError(f"no test {name!r}; the tests are: {', '.join(t.name for t in self.tests)}")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["projection"] = [{"x": p.x, "y": p.y, "sample": p.sample} for p in self.projection]
        data["drift"] = self.drift
        data["p_value"] = self.p_value
        data["exit_code"] = self.exit_code
        data["questions"] = {q: self.question(q) for q in ("shift", "where")}
        data["schema_version"] = SCHEMA_VERSION
        out: dict[str, Any] = _clean(data)
        return out


@dataclass(frozen=True)
class CaseDrift:
    journey: str
    case_id: str
    input: str
    distance: float  # 1 − cosine similarity of the two answers
    words_a: int
    words_b: int
    refusal_a: bool
    refusal_b: bool
    citations_a: int
    citations_b: int
    answer_a: str
    answer_b: str


@dataclass(frozen=True)
class AnswerDriftResult:
    """Answers of run A against run B, case by case."""

    alpha: float
    run_a: str
    run_b: str
    n_paired: int
    n_only_a: int
    n_only_b: int
    n_skipped: int  # paired cases with an error (no answer) on either side
    tests: list[TestResult]
    distance: dict[str, float]  # mean, median, p90, max
    flag_distance: float
    n_flagged: int
    moved: list[CaseDrift]  # the cases that moved most, most first
    summary: dict[str, dict[str, float]]  # a / b: mean words, refusal share, citations per answer
    notes: list[str] = field(default_factory=list)
    kind: str = "answers"

    @property
    def drift(self) -> bool:
        return any(t.drift for t in self.tests)

    @property
    def p_value(self) -> float:
        return min((t.adjusted_p for t in self.tests if t.decides), default=1.0)

    @property
    def exit_code(self) -> int:
        return 1 if self.drift else 0

    def test(self, name: str) -> TestResult:
        for t in self.tests:
            if t.name == name:
                return t
        raise KeyError(f"no test {name!r}; the tests are: {', '.join(t.name for t in self.tests)}")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["drift"] = self.drift
        data["p_value"] = self.p_value
        data["exit_code"] = self.exit_code
        data["schema_version"] = SCHEMA_VERSION
        out: dict[str, Any] = _clean(data)
        return out


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
