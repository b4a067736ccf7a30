"""Data drift: is the golden set still the traffic, and are the answers moving between runs?

``detect(reference_texts, current_texts)`` tests golden inputs against a sample of traffic
(:mod:`cujeval.drift.detect`); ``answer_drift(run_a, run_b)`` compares two runs' answers case
by case (:mod:`cujeval.drift.runs`). Both return a result with ``drift`` (the decision at
``alpha``), ``p_value`` and ``tests``, the shape a drift SLO can be built on.
"""

from __future__ import annotations

from cujeval.drift.detect import METHODS, detect
from cujeval.drift.result import AnswerDriftResult, DriftResult, TestResult
from cujeval.drift.runs import answer_drift

__all__ = ["METHODS", "AnswerDriftResult", "DriftResult", "TestResult", "answer_drift", "detect"]
