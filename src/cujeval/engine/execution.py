"""What a run stage (an engine) hands to the rest of the pipeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from cujeval.spec.results import JourneyResult, SLOEntry
from cujeval.spec.suite import Settings, Suite

if TYPE_CHECKING:
    from cujeval.core.slo import SLOResult


@dataclass
class Execution:
    """What a run stage hands to the rest of the pipeline: each journey's counts, SLIs and SLO
    verdicts (the gate is not decided yet), how the run ended, and what it noted."""

    suite: Suite  # as run: a canary journey's baseline arm included
    settings: Settings
    started: str
    journeys: list[JourneyResult]
    abort_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    price_table: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] | None = None  # `cujeval load`: golden signals, steps, time series


def slo_entry(r: SLOResult) -> SLOEntry:
    """An SLO verdict as results.json holds it."""
    return SLOEntry.model_validate({**asdict(r), "verdict": r.verdict.value})
