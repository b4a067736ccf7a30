"""The suite's ``budget:`` block: the window of runs error budgets are kept over, the alert
thresholds, what an exhausted or unreadable budget does to the gate, and the drop a baseline
comparison allows (cujeval.core.budget computes the budgets)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class SLOPolicy(BaseModel):
    """Per-SLO overrides in ``budget.slos`` (key ``slo`` or ``journey/slo``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_drop: float | None = Field(None, ge=0)
    budget: bool = True  # False: no budget is kept (nor enforced) for this SLO


class BudgetPolicy(BaseModel):
    """The suite's ``budget:`` block: the window of runs budgets are kept over, the alert
    thresholds, whether an exhausted budget blocks the gate, and the drop a baseline
    comparison allows (``max_drop``: share of cases for ratio SLOs, e.g. 0.02 = 2 points;
    relative change of the statistic for aggregate SLOs, e.g. 0.1 = 10 % worse)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: int = Field(28, ge=1, le=10_000)
    trigger: Literal["manual", "ci", "nightly"] | None = None
    block_exhausted: bool = True
    fast_share: float = Field(0.10, gt=0, le=1)
    slow_window: int = Field(7, ge=1)
    slow_burn: float = Field(1.0, gt=0)
    max_drop: float = Field(0.0, ge=0)
    # the budget history cannot be read (the tracking store is down): block the gate (the
    # default: an unknown budget is not a pass) or only warn
    on_unavailable: Literal["warn", "block"] = Field(
        "block", validation_alias=AliasChoices("on_unavailable", "history_unavailable")
    )
    slos: dict[str, SLOPolicy] = Field(default_factory=dict)

    def for_slo(self, journey: str, slo: str) -> SLOPolicy:
        """The overrides for one SLO (``journey/slo`` first, then ``slo``), or the defaults."""
        return self.slos.get(f"{journey}/{slo}") or self.slos.get(slo) or SLOPolicy()

    def max_drop_for(self, journey: str, slo: str) -> float:
        own = self.for_slo(journey, slo).max_drop
        return self.max_drop if own is None else own


DEFAULT_POLICY = BudgetPolicy()
