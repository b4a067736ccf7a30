"""A suite's ``degradations:`` (graceful-degradation scenarios), validated: how each is switched
on (the reference service's fault knobs, or the user's own HTTP hook) and which SLOs must
still hold, possibly relaxed. cujeval.scenarios runs them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cujeval._util.yamlsource import LineList, LineMap
from cujeval.spec.predicates import ObjectiveText


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Hook(_Frozen):
    """A user's switch: ``on`` is POSTed before the scenario, ``off`` after (always)."""

    on: str
    off: str
    body: Any = None  # JSON sent with both (default: {"scenario": NAME, "state": "on"/"off"})
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(10.0, gt=0)

    @field_validator("on", "off")
    @classmethod
    def _url(cls, value: str) -> str:
        from cujeval.spec.targets import _http_url

        return _http_url(value)


class MustHold(_Frozen):
    """An SLO of the journey that must still hold, optionally with a relaxed ``target``
    (ratio and journey SLOs) or ``objective`` (aggregate SLOs)."""

    slo: str
    target: float | None = Field(None, gt=0, le=1)
    objective: ObjectiveText = None
    line: int | None = None

    @model_validator(mode="after")
    def _one(self) -> MustHold:
        if self.target is not None and self.objective is not None:
            raise ValueError(
                "relax with 'target' (ratio SLOs) or 'objective' (aggregate), not both"
            )
        return self


class Degradation(_Frozen):
    """One scenario: how to switch it on and which SLOs must still hold."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    description: str = ""
    journey: str | None = None
    faults: dict[str, Any] | None = None
    faults_url: str | None = None
    hook: Hook | None = None
    must_hold: tuple[MustHold, ...] = Field(min_length=1)
    settle_s: float = Field(0.0, ge=0, le=600)  # wait after switching on, before the run
    line: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _line(cls, value: Any) -> Any:
        if isinstance(value, LineMap) and "line" not in value:
            return {**value, "line": value.lines.get("name", value.line or None)}
        return value

    @field_validator("must_hold", mode="before")
    @classmethod
    def _items(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        lines = value.lines if isinstance(value, LineList) else [None] * len(value)
        out: list[Any] = []
        for item, line in zip(value, lines, strict=True):
            if isinstance(item, str):
                out.append({"slo": item, "line": line})
            elif isinstance(item, dict) and "line" not in item:
                out.append({**item, "line": line})
            else:
                out.append(item)
        return out

    @field_validator("faults_url")
    @classmethod
    def _faults_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from cujeval.spec.targets import _http_url

        return _http_url(value)

    @model_validator(mode="after")
    def _switch(self) -> Degradation:
        if (self.faults is None) == (self.hook is None):
            raise ValueError("switch a scenario on with exactly one of 'faults' or 'hook'")
        if self.faults_url is not None and self.faults is None:
            raise ValueError("'faults_url' goes with 'faults'")
        names = [m.slo for m in self.must_hold]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"must_hold names {', '.join(dupes)} more than once")
        return self
