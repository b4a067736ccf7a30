"""RunResult: the one thing reporters read. A versioned schema that round-trips to JSON.

``results.json`` holds the suite-level verdicts; the per-case rows (observation and scores)
stay in the run's ``journal.jsonl`` beside it, one JSON object a line.

Schema version 3 (fields of ``SLOEntry`` per SLO): name, kind (ratio | aggregate | journey),
expression, verdict (MET | BREACHED | INCONCLUSIVE | NO_DATA), estimate, lower, upper (one-sided
bounds at ``settings.confidence``; either may be None where the cases cannot give it), n
(cases: repeats count once), good (sum over cases of the share of good repeats), target (ratio:
required share of good cases), bound and op (aggregate), cases_to_decide (INCONCLUSIVE),
min_cases (aggregate), n_rows, n_unscorable, n_scorer_errors, design_effect (clustered cases),
pass_all_k / pass_any_k (epochs > 1), blocking, worst_cases.
``gate`` holds the one gate decision: its typed ``reasons`` (kind, action, journey, SLO,
detail), per SLO its action (pass | warn | block), and the exit code derived from the reasons.
Version 2 files (reasons as text only) are read and upgraded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 3
VerdictName = Literal["MET", "BREACHED", "INCONCLUSIVE", "NO_DATA"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SLOEntry(_Model):
    name: str
    kind: Literal["ratio", "aggregate", "journey"]
    expression: str
    verdict: VerdictName
    estimate: float | None
    lower: float | None
    upper: float | None
    n: int
    good: float | None = None
    target: float | None = None
    bound: float | None = None
    op: str | None = None
    cases_to_decide: int | None = None
    min_cases: int | None = None
    n_rows: int = 0
    n_unscorable: int = 0
    n_scorer_errors: int = 0
    design_effect: float | None = None
    pass_all_k: float | None = None
    pass_any_k: float | None = None
    blocking: bool = True
    description: str = ""
    worst_cases: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def met(self) -> bool:
        """The verdict is MET (what ``assert result.slo("x").met`` asks)."""
        return self.verdict == "MET"


class SLIEntry(_Model):
    name: str
    n: int
    mean: float | None
    p50: float | None
    p95: float | None
    min: float | None
    max: float | None


class DatasetEntry(_Model):
    path: str
    digest: str
    n_cases: int


class _Section(_Model):
    """A typed section of results.json that still reads like the mapping it once was
    (``s["x"]``, ``s.get("x")``, ``s.items()``), so readers written against the mapping keep
    working while new ones use the attributes."""

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, None) if key in type(self).model_fields else None
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def keys(self) -> list[str]:
        return [k for k in type(self).model_fields if getattr(self, k) is not None]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, getattr(self, k)) for k in self.keys()]

    def __eq__(self, other: object) -> bool:
        # equal to the mapping it reads as: a section read back from results.json equals the
        # dict it was written from
        if isinstance(other, Mapping):
            try:
                other = type(self).model_validate(other)
            except ValueError:
                return False
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]


# ---- the LLM judge's account of a journey (cujeval.scorers.judges.summary)


class JudgeAgreement(_Section):
    """How often the offline scorer and the judge agreed, case by case."""

    offline: str
    judge: str
    n_rows: int
    n_cases: int
    agreement: float
    table: dict[str, int]  # both, offline_only, judge_only, neither
    kappa: float | None
    mean_abs_diff: float | None
    n_disagree: int
    disagreements: list[dict[str, Any]] = Field(default_factory=list)


class JudgeAccount(_Section):
    """The judge's calls, failures by reason, tokens and cost for one journey."""

    models: list[str]
    scorers: dict[str, int]
    judgements: int
    failed: int
    failures: dict[str, int]
    causes: dict[str, str]
    calls: int
    cache_hits: int
    retries: int
    prompt_tokens: int
    completion_tokens: int
    usage_missing: int
    tokens: int
    cost_usd: float | None
    cost_unpriced_rows: int
    agreement: JudgeAgreement | None = None


# ---- a paired comparison: the same-run canary (cujeval.core.compare.Report.to_dict)


class RunRef(_Section):
    label: str
    run_id: str


class PairingCounts(_Section):
    paired: int
    only_baseline: int
    only_candidate: int
    changed: int


class ComparisonEntry(_Section):
    """One SLO compared (the fields of cujeval.core.compare.SLOComparison)."""

    journey: str
    slo: str
    kind: str
    expression: str
    test: str
    n_paired: int
    baseline: float | None
    candidate: float | None
    diff: float | None
    lower: float | None
    upper: float | None
    p_value: float | None
    worse: int
    better: int
    change: Literal["REGRESSED", "IMPROVED", "NO CHANGE", "INCONCLUSIVE"]
    drop: float
    max_drop: float
    blocks: bool
    detect: float
    cases_needed: int | None
    higher_is_better: bool = True
    note: str = ""
    worse_cases: list[str] = Field(default_factory=list)


class ChangedCaseEntry(_Section):
    """A case that went from good to bad, with both answers (cujeval.core.compare.ChangedCase)."""

    journey: str
    case_id: str
    input: str
    baseline: str
    candidate: str
    change: str


class ComparisonSection(_Section):
    kind: Literal["compare", "canary"]
    baseline: RunRef
    candidate: RunRef
    blocking: list[str]
    pairing: dict[str, PairingCounts]
    skipped_journeys: list[str]
    comparisons: list[ComparisonEntry]
    changed_cases: list[ChangedCaseEntry] = Field(default_factory=list)


# ---- a load run (cujeval.load.engine.judge_steps)


class LoadTimeSeries(_Section):
    interval_s: float
    points: list[dict[str, Any]]  # one a window: t, offered and achieved rate, p99, ...


class LoadKnee(_Section):
    held_rate: float | None
    broke_at_rate: float | None
    reasons: list[str]


class LoadSection(_Section):
    """What ``cujeval load`` measured: the profile, each step's golden signals and verdicts,
    the run's golden signals, the knee, the saturation source and the time series."""

    journey: str
    target: str
    profile: dict[str, Any]
    method: dict[str, str]
    elapsed_s: float
    ramp_sent: int
    steps: list[dict[str, Any]]  # per step: name, rate, traffic, errors, latency, ... slos
    golden_signals: dict[str, Any]
    knee: LoadKnee | None
    saturation_source: dict[str, Any] | None
    timeseries: LoadTimeSeries
    notes: list[str] = Field(default_factory=list)


class JourneyResult(_Model):
    name: str
    description: str = ""
    target: str
    dataset: DatasetEntry
    scorers: list[str]
    n_rows: int
    n_errors: int
    n_cases: int = 0
    errors_by_status: dict[str, int] = Field(default_factory=dict)
    scorer_errors: dict[str, int] = Field(default_factory=dict)  # by scorer
    slis: list[SLIEntry]
    slos: list[SLOEntry]
    # the LLM judge's account: calls, failures by reason, tokens, cost, agreement with the
    # offline scorer; None without a judge
    judge: JudgeAccount | None = None

    @property
    def n_scorer_errors(self) -> int:
        return sum(self.scorer_errors.values())


Action = Literal["pass", "warn", "block"]
ReasonKind = Literal[
    "breached",  # an SLO's verdict: BREACHED
    "no_data",  # an SLO with no valid case
    "inconclusive",  # an SLO INCONCLUSIVE (blocks under strict)
    "unscorable",  # an SLO that could judge too few of the cases
    "small_sample",  # before the run: a target the journey's cases cannot prove MET
    "scorer_errors",  # more scorer errors in a journey than the policy allows
    "budget_exhausted",  # an SLO's error budget is spent
    "budget_unknown",  # the budget history could not be read
    "regressed",  # an SLO worse than its baseline beyond the allowed drop
    "comparison_inconclusive",  # too few pairs to detect the allowed drop
    "incomplete",  # the run could not complete: exit 3
]


class GateReason(_Model):
    """One thing the gate weighed: what (``kind``), where (journey, SLO), what it does to the
    gate (``action``) and the figures behind it (``detail``). Exit codes come from these."""

    kind: ReasonKind
    action: Literal["warn", "block"]
    journey: str | None = None
    slo: str | None = None
    detail: str = ""

    @property
    def where(self) -> str:
        if self.journey is None:
            return "run"
        return f"{self.journey}/{self.slo}" if self.slo else self.journey

    @property
    def short(self) -> str:
        """What and why, without where: ``budget exhausted: 30 bad of 16 allowed ...``."""
        what = self.kind.replace("_", " ")
        return f"{what}: {self.detail}" if self.detail else what

    @property
    def text(self) -> str:
        """One line for the console, the reports and pytest."""
        label = VERDICT_KINDS.get(self.kind)
        if label:
            head = f"{self.where} {label}"
            return f"{head}: {self.detail}" if self.detail else head
        if self.kind == "incomplete":
            return f"run incomplete: {self.detail}"
        return self.short if self.journey is None else f"{self.where}: {self.short}"


# reasons that restate an SLO's own verdict (shown as ``journey/slo VERDICT``)
VERDICT_KINDS: dict[str, str] = {
    "breached": "BREACHED",
    "no_data": "NO_DATA",
    "inconclusive": "INCONCLUSIVE",
}


class GateSLOEntry(_Model):
    journey: str
    slo: str
    verdict: VerdictName
    action: Action
    reason: str


class GateEntry(_Model):
    """The one gate decision (cujeval.core.gate.decide). ``blocking`` and ``warnings`` are the
    reasons' texts, kept for readers of results.json; ``reasons`` is the decision itself."""

    passed: bool
    exit_code: int
    policy: str
    reasons: list[GateReason] = Field(default_factory=list)
    slos: list[GateSLOEntry] = Field(default_factory=list)
    journeys: dict[str, Action] = Field(default_factory=dict)
    blocking: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    def action(self, journey: str, slo: str) -> Action:
        """pass, warn or block for one SLO, as the gate decided it."""
        for entry in self.slos:
            if entry.journey == journey and entry.slo == slo:
                return entry.action
        return "pass"

    def reasons_for(self, journey: str | None, slo: str | None = None) -> list[GateReason]:
        """The reasons about one SLO (``slo`` given), or about a journey or the run as a
        whole (``slo`` None: reasons that name no SLO)."""
        return [r for r in self.reasons if r.journey == journey and r.slo == slo]


def _legacy_reasons(gate: dict[str, Any]) -> list[dict[str, Any]]:
    """Reasons for a results.json of schema version 2, which stored the gate's reasons as
    text only (read when an older run is a baseline or is logged again)."""
    kinds = {"BREACHED": "breached", "NO_DATA": "no_data", "INCONCLUSIVE": "inconclusive"}
    out: list[dict[str, Any]] = []
    labels = set()
    for e in gate.get("slos") or ():
        if e.get("action") in ("warn", "block"):
            kind = kinds.get(e.get("verdict", ""), "unscorable")
            out.append(
                {"kind": kind, "action": e["action"], "journey": e["journey"], "slo": e["slo"]}
            )
            labels.add(f"{e['journey']}/{e['slo']} {e.get('verdict')}")
    for action, texts in (("block", gate.get("blocking")), ("warn", gate.get("warnings"))):
        for text in texts or ():
            if text in labels:
                continue
            kind = (
                "incomplete"
                if text.startswith("run incomplete")
                else "budget_exhausted"
                if "error budget" in text
                else "regressed"
                if "REGRESSED" in text
                else "scorer_errors"
            )
            out.append({"kind": kind, "action": action, "detail": text})
    return out


class RunResult(_Model):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    suite: str
    suite_path: str
    started_at: str
    finished_at: str
    status: Literal["completed", "aborted"]
    abort_reason: str | None = None
    cujeval_version: str
    git_commit: str | None = None
    trigger: str = "manual"
    settings: dict[str, Any]
    price_table: dict[str, Any] = Field(default_factory=dict)
    journeys: list[JourneyResult]
    gate: GateEntry
    journal: str = "journal.jsonl"
    notes: list[str] = Field(default_factory=list)  # what the run did besides running (resume)
    load: LoadSection | None = None  # `cujeval load`: golden signals, steps, time series
    canary: ComparisonSection | None = None  # a same-run canary's comparison

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, value: Any) -> Any:
        if isinstance(value, dict) and int(value.get("schema_version", SCHEMA_VERSION)) < 3:
            gate = dict(value.get("gate") or {})
            gate.setdefault("reasons", _legacy_reasons(gate))
            value = {**value, "gate": gate}
        return value

    def redacted(self) -> RunResult:
        """This result with every string valid Unicode and redacted (cujeval._util.redact): what
        any writer writes."""
        from cujeval._util.redact import clean

        return type(self).model_validate(clean(self.model_dump()))

    def write(self, directory: Path) -> Path:
        path = directory / "results.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.redacted().model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(path)
        return path

    def slo(self, name: str, journey: str | None = None) -> SLOEntry:
        """The SLO called ``name`` (of ``journey``, needed only when several journeys have
        one by that name). KeyError naming the SLOs there are."""
        journeys = [j.name for j in self.journeys]
        if journey is not None and journey not in journeys:
            raise KeyError(f"no journey {journey!r}; the journeys are: {', '.join(journeys)}")
        found = [
            (j.name, s)
            for j in self.journeys
            if journey is None or j.name == journey
            for s in j.slos
            if s.name == name
        ]
        if len(found) == 1:
            return found[0][1]
        if found:
            names = ", ".join(j for j, _ in found)
            raise KeyError(f"SLO {name!r} is in several journeys ({names}): pass journey=")
        known = sorted(
            f"{j.name}/{s.name}" for j in self.journeys for s in j.slos if journey in (None, j.name)
        )
        raise KeyError(f"no SLO {name!r}; the SLOs are: {', '.join(known) or 'none'}")

    @classmethod
    def read(cls, path: Path) -> RunResult:
        if path.is_dir():
            path = path / "results.json"
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
