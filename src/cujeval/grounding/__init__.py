"""Offline grounding checks: is each claim of an answer supported by the retrieved contexts?

claims -> features (embeddings, lexical checks) -> support model -> judgement; calibrate
chooses decision thresholds from labelled scores.
"""

from cujeval.grounding.calibrate import Calibration, choose_threshold, evaluate_threshold
from cujeval.grounding.judge import ClaimVerdict, Judgement, judge

__all__ = [
    "Calibration",
    "ClaimVerdict",
    "Judgement",
    "choose_threshold",
    "evaluate_threshold",
    "judge",
]
