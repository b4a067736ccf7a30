"""Paired comparison of a candidate against a baseline, SLO by SLO: REGRESSED, IMPROVED or
NO CHANGE, and whether the change blocks (it is a regression larger than the allowed drop).

Cases are paired by id (a case whose golden row changed between the runs is left out). With
α = 1 − confidence (two-sided):

- ratio and journey-success SLOs, one good/bad per case: McNemar's exact test on the
  discordant pairs, b good → bad and c bad → good; p = min(1, 2·P[X ≤ min(b, c)]),
  X ~ Bin(b + c, ½). REGRESSED when p < α and b > c; the change is (c − b) / n share points,
  shown with a paired-bootstrap interval. With repeats (``--epochs``) a case's value is its
  share of good repeats and the paired bootstrap of the mean share decides.
- aggregate SLOs (``p95(latency_s) <= 1.5``): the paired bootstrap of stat(candidate) −
  stat(baseline) over the same cases; REGRESSED when the whole interval lies on the worse side.

A change that is not significant is NO CHANGE only when the test could have seen the allowed
drop (the paired cases reach the number the power figure below asks for); with fewer pairs it
is INCONCLUSIVE (5 of 5 good falling to 0 of 5 is not "no change": p = 0.0625 is what 5 pairs
can show at best). An aggregate with fewer pairs than its statistic's bound needs is
INCONCLUSIVE, with both runs' figures. Nothing paired at all is bad input, never NO CHANGE.

Allowed drop (the suite's ``budget.max_drop``, per SLO ``budget.slos.<slo>.max_drop``): share
points for ratio SLOs (0.02 = two points), the relative change of the statistic for aggregate
SLOs (0.1 = 10 % worse). A REGRESSED SLO blocks when its drop exceeds what is allowed.

Power (how many paired cases a drop δ needs to be detected at α with power 1 − β = 0.8):
McNemar (Connor 1987), with ψ the share of discordant pairs (at least δ):
n = (z_{1−α/2}·√ψ + z_{1−β}·√(ψ − δ²))² / δ²; bootstrap, with se the standard error
at the n cases compared: n' = n·((z_{1−α/2} + z_{1−β})·se / δ)².

:func:`compare` takes two sets of rows and a journey; it serves baselines (``cujeval run
--baseline``), ``cujeval compare A B``, and the same-run canary (cujeval.engine.canary).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from cujeval.core.compare_text import ReportText, _drop_text, _fmt
from cujeval.core.paired import (
    bootstrap_cases_needed,
    case_shares,
    case_values,
    mcnemar_cases_needed,
    pair,
    z_of,
)
from cujeval.spec.budget import DEFAULT_POLICY, BudgetPolicy
from cujeval.spec.results import ComparisonSection

if TYPE_CHECKING:
    from cujeval.spec.journal import JournalRow
    from cujeval.spec.results import GateReason, JourneyResult, RunResult
    from cujeval.spec.suite import Journey, Settings, SLOSpec, Suite
    from cujeval.tracking.history import LoadedRun

Change = Literal["REGRESSED", "IMPROVED", "NO CHANGE", "INCONCLUSIVE"]
DEFAULT_DETECT = 0.05


@dataclass(frozen=True)
class SLOComparison:
    journey: str
    slo: str
    kind: str  # ratio | journey | aggregate
    expression: str
    test: str  # mcnemar | bootstrap | none
    n_paired: int
    baseline: float | None  # share of good cases, or the statistic
    candidate: float | None
    diff: float | None  # candidate − baseline
    lower: float | None  # two-sided interval of diff at the confidence
    upper: float | None
    p_value: float | None
    worse: int  # cases good → bad (or whose value got worse)
    better: int  # cases bad → good
    change: Change
    drop: float  # how much worse: share points (ratio), relative (aggregate); 0 if better
    max_drop: float
    blocks: bool
    detect: float  # the drop the power figure is for
    cases_needed: int | None  # paired cases that detect `detect` at the power
    higher_is_better: bool = True
    note: str = ""
    worse_cases: list[str] = field(default_factory=list)  # good → bad (ratio SLOs), the first

    @property
    def label(self) -> str:
        return f"{self.journey}/{self.slo}"

    @classmethod
    def untested(
        cls, change: Change, note: str, cases_needed: int | None, **fields: Any
    ) -> SLOComparison:
        """A comparison no test was run for (no pairs, too few, a ratio over the whole run):
        no interval and no p-value, and it never blocks; ``fields`` names the rest."""
        empty: dict[str, Any] = {
            "baseline": None,
            "candidate": None,
            "diff": None,
            "lower": None,
            "upper": None,
            "p_value": None,
            "worse": 0,
            "better": 0,
            "drop": 0.0,
            "blocks": False,
        }
        return cls(change=change, note=note, cases_needed=cases_needed, **{**empty, **fields})

    def reason(self, baseline_label: str) -> str:
        """The gate's blocking reason (starts with the journey, as gate.amend expects)."""
        return (
            f"{self.label} REGRESSED against baseline {baseline_label}: "
            f"{_fmt(self, self.baseline)} -> {_fmt(self, self.candidate)} "
            f"({self.worse} worse, {self.better} better of {self.n_paired} paired cases"
            + (f", p = {self.p_value:.3g}" if self.p_value is not None else "")
            + f"; allowed drop {_drop_text(self, self.max_drop)})"
        )


def compare(
    baseline_rows: Sequence[JournalRow],
    candidate_rows: Sequence[JournalRow],
    journey: Journey,
    settings: Settings,
    *,
    policy: BudgetPolicy | None = None,
    detect: float | None = None,
) -> list[SLOComparison]:
    """Every SLO of ``journey`` compared over the cases both sets of rows hold."""
    policy = policy or DEFAULT_POLICY
    paired = set(pair(baseline_rows, candidate_rows).common)
    base = [r for r in baseline_rows if r.case_id in paired]
    cand = [r for r in candidate_rows if r.case_id in paired]
    out = []
    for spec in journey.slos:
        if spec.load_only:
            continue  # judged under load only: runs without load measured neither
        max_drop = policy.max_drop_for(journey.name, spec.name)
        want = detect if detect is not None else (max_drop or DEFAULT_DETECT)
        if spec.kind == "aggregate":
            out.append(_aggregate(spec, journey, base, cand, settings, max_drop, want))
        else:
            out.append(_ratio(spec, journey, base, cand, settings, max_drop, want))
    return out


def _expression(spec: SLOSpec) -> str:
    if spec.kind == "aggregate":
        return spec.objective or ""
    if spec.kind == "journey":
        return "all of: " + ", ".join(spec.all_of or ())
    return spec.good or ""


def _ratio(
    spec: SLOSpec,
    journey: Journey,
    base: Sequence[JournalRow],
    cand: Sequence[JournalRow],
    settings: Settings,
    max_drop: float,
    detect: float,
) -> SLOComparison:
    """A good/bad (ratio or journey) SLO: McNemar on binary cases, the paired bootstrap on
    shares of repeats. Long for a reason: each outcome is one SLOComparison with every field
    named, which reads better than a builder split across helpers."""
    from cujeval.core import stats

    sb, sc = case_shares(base, spec, journey), case_shares(cand, spec, journey)
    ids = [k for k in sc if k in sb]
    n = len(ids)
    alpha = 1.0 - settings.confidence
    common: dict[str, Any] = {
        "journey": journey.name,
        "slo": spec.name,
        "kind": spec.kind,
        "expression": _expression(spec),
        "n_paired": n,
        "max_drop": max_drop,
        "detect": detect,
    }
    if n == 0:
        return SLOComparison.untested(
            "INCONCLUSIVE",
            "no case judged in both runs",
            mcnemar_cases_needed(detect, detect, alpha),
            test="none",
            **common,
        )
    a = [sb[k] for k in ids]
    b = [sc[k] for k in ids]
    worse_ids = [k for k, x, y in zip(ids, a, b, strict=True) if y < x]
    worse = len(worse_ids)
    better = sum(1 for x, y in zip(a, b, strict=True) if y > x)
    pb, pc = sum(a) / n, sum(b) / n
    diff = pc - pb
    lower, upper = (
        stats.paired_bootstrap_diff(
            b,
            a,
            "mean",
            settings.confidence,
            n_resamples=settings.bootstrap_resamples,
            seed=settings.seed,
            one_sided=False,
        )
        if n > 1
        else (diff, diff)
    )
    binary = all(x in (0.0, 1.0) for x in (*a, *b))
    if binary:
        p = stats.mcnemar_exact(worse, better)
        significant = p < alpha
        change: Change = (
            "NO CHANGE" if not significant else ("REGRESSED" if worse > better else "IMPROVED")
        )
        needed = mcnemar_cases_needed(detect, (worse + better) / n, alpha)
        test = "mcnemar"
    else:
        p = None
        change = "REGRESSED" if upper < 0 else ("IMPROVED" if lower > 0 else "NO CHANGE")
        se = (upper - lower) / (2 * z_of(1 - alpha / 2))
        needed = bootstrap_cases_needed(n, se, detect, alpha)
        test = "bootstrap"
    drop = max(-diff, 0.0)
    note = ""
    if change == "NO CHANGE" and (needed is None or needed > n):
        change = "INCONCLUSIVE"
        note = _too_few(n, needed, detect, "ratio")
    return SLOComparison(
        test=test,
        note=note,
        baseline=pb,
        candidate=pc,
        diff=diff,
        lower=lower,
        upper=upper,
        p_value=p,
        worse=worse,
        better=better,
        change=change,
        drop=drop,
        blocks=change == "REGRESSED" and drop > max_drop + 1e-12,
        cases_needed=needed,
        worse_cases=worse_ids[:MAX_CHANGED],
        **common,
    )


def _too_few(n: int, needed: int | None, detect: float, kind: str) -> str:
    drop = f"{detect * 100:.1f} points" if kind == "ratio" else f"{detect:.0%}"
    need = f"about {needed}" if needed is not None else "more"
    return f"too few pairs to detect a drop of {drop}: {n} paired, {need} needed"


def _aggregate(
    spec: SLOSpec,
    journey: Journey,
    base: Sequence[JournalRow],
    cand: Sequence[JournalRow],
    settings: Settings,
    max_drop: float,
    detect: float,
) -> SLOComparison:
    """An aggregate SLO: the paired bootstrap of the statistic's difference; too few pairs for
    the statistic's bound is INCONCLUSIVE with both runs' figures. Long for the same reason as
    :func:`_ratio`."""
    from cujeval.core import stats

    obj = spec.parsed_objective
    vb, vc = case_values(base, obj.sli), case_values(cand, obj.sli)
    ids = [k for k in vc if k in vb]
    n = len(ids)
    alpha = 1.0 - settings.confidence
    up = obj.higher_is_better
    common: dict[str, Any] = {
        "journey": journey.name,
        "slo": spec.name,
        "kind": "aggregate",
        "expression": _expression(spec),
        "n_paired": n,
        "max_drop": max_drop,
        "detect": detect,
        "higher_is_better": up,
        "test": "bootstrap",
    }
    from cujeval.core.slo import min_cases

    needed = min_cases(obj.statistic, settings.confidence) if obj.success is None else 2
    if obj.success is not None:
        return SLOComparison.untested(
            "NO CHANGE",
            f"a ratio over the whole run is not compared case by case: compare "
            f"{obj.success!r} and {obj.sli!r}",
            None,
            **common,
        )
    if n < max(2, needed):
        a = [vb[k] for k in ids]
        b = [vc[k] for k in ids]
        sb_ = stats.statistic_value(a, obj.statistic) if a else None
        sc_ = stats.statistic_value(b, obj.statistic) if b else None
        return SLOComparison.untested(
            "INCONCLUSIVE",
            f"too few pairs: {n} paired case(s), a bound of {obj.statistic} needs {max(2, needed)}",
            max(2, needed),
            baseline=sb_,
            candidate=sc_,
            diff=None if sb_ is None or sc_ is None else sc_ - sb_,
            worse=sum(1 for x, y in zip(a, b, strict=True) if (y < x if up else y > x)),
            better=sum(1 for x, y in zip(a, b, strict=True) if (y > x if up else y < x)),
            **common,
        )
    a = [vb[k] for k in ids]
    b = [vc[k] for k in ids]
    sb = stats.statistic_value(a, obj.statistic)
    sc = stats.statistic_value(b, obj.statistic)
    diff = sc - sb
    lower, upper = stats.paired_bootstrap_diff(
        b,
        a,
        obj.statistic,
        settings.confidence,
        n_resamples=settings.bootstrap_resamples,
        seed=settings.seed,
        one_sided=False,
    )
    worse_side = (upper < 0) if up else (lower > 0)
    better_side = (lower > 0) if up else (upper < 0)
    change: Change = "REGRESSED" if worse_side else ("IMPROVED" if better_side else "NO CHANGE")
    scale = abs(sb) if sb != 0 else 1.0
    worsening = (-diff if up else diff) / scale
    se = (upper - lower) / (2 * z_of(1 - alpha / 2))
    needed_pairs = bootstrap_cases_needed(n, se / scale, detect, alpha)
    note = "" if se > 0 else "identical values: any change would show"
    if change == "NO CHANGE" and needed_pairs is not None and needed_pairs > n:
        change = "INCONCLUSIVE"
        note = _too_few(n, needed_pairs, detect, "aggregate")
    return SLOComparison(
        baseline=sb,
        candidate=sc,
        diff=diff,
        lower=lower,
        upper=upper,
        p_value=None,
        worse=sum(1 for x, y in zip(a, b, strict=True) if (y < x if up else y > x)),
        better=sum(1 for x, y in zip(a, b, strict=True) if (y > x if up else y < x)),
        change=change,
        drop=max(worsening, 0.0),
        blocks=change == "REGRESSED" and worsening > max_drop + 1e-12,
        cases_needed=needed_pairs,
        note=note,
        **common,
    )


# ---- runs --------------------------------------------------------------------------------


def journey_from_result(j: JourneyResult) -> Journey:
    """A journey's SLOs rebuilt from results.json (when the suite file is not at hand)."""
    from cujeval.spec.suite import Journey, SLOSpec

    slos = []
    for s in j.slos:
        if s.kind == "aggregate":
            slos.append(SLOSpec(name=s.name, objective=s.expression, blocking=s.blocking))
        elif s.kind == "journey":
            steps = tuple(x.strip() for x in s.expression.removeprefix("all of:").split(","))
            slos.append(SLOSpec(name=s.name, all_of=steps, target=s.target, blocking=s.blocking))
        else:
            slos.append(SLOSpec(name=s.name, good=s.expression, target=s.target))
    return Journey(
        name=j.name, dataset=j.dataset.path, target=j.target, scorers=(), slos=tuple(slos)
    )


def settings_of(result: RunResult) -> Settings:
    from pydantic import ValidationError

    from cujeval.spec.suite import Settings

    try:
        return Settings.model_validate(result.settings)
    except ValidationError:
        return Settings()


MAX_CHANGED = 10  # cases that got worse kept per SLO, and shown per comparison


@dataclass(frozen=True)
class ChangedCase:
    """A case that went from good to bad between the baseline and the candidate, with both
    answers (or errors) side by side."""

    journey: str
    case_id: str
    input: str
    baseline: str
    candidate: str
    change: str  # "good → bad on retrieval-hit, journey-success"


def changed_cases(
    comparisons: Sequence[SLOComparison],
    baseline: Sequence[JournalRow],
    candidate: Sequence[JournalRow],
) -> list[ChangedCase]:
    """The cases that got worse on some SLO, the blocking SLOs' first, at most
    :data:`MAX_CHANGED`; each names every SLO it got worse on."""

    def first_rows(rows: Sequence[JournalRow]) -> dict[tuple[str, str], JournalRow]:
        out: dict[tuple[str, str], JournalRow] = {}
        for r in sorted(rows, key=lambda r: r.epoch):
            out.setdefault((r.journey, r.case_id), r)
        return out

    def said(row: JournalRow | None) -> str:
        if row is None:
            return ""
        if not row.ok:
            return f"[{row.status}] {row.observation.get('error') or ''}".strip()
        return str(row.observation.get("answer") or "")

    slos: dict[tuple[str, str], list[str]] = {}
    for c in sorted(comparisons, key=lambda c: (not c.blocks, c.change != "REGRESSED")):
        for case_id in c.worse_cases:
            slos.setdefault((c.journey, case_id), []).append(c.slo)
    base, cand = first_rows(baseline), first_rows(candidate)
    out = []
    for key, names in list(slos.items())[:MAX_CHANGED]:
        was, now = base.get(key), cand.get(key)
        either = now or was
        out.append(
            ChangedCase(
                journey=key[0],
                case_id=key[1],
                input=either.input if either is not None else "",
                baseline=said(was),
                candidate=said(now),
                change="good → bad on " + ", ".join(names),
            )
        )
    return out


@dataclass
class Report(ReportText):
    """A candidate compared with a baseline, journey by journey."""

    baseline_label: str
    candidate_label: str
    baseline_run: str
    candidate_run: str
    comparisons: list[SLOComparison]
    pairing: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # journeys only one run has
    kind: Literal["compare", "canary"] = "compare"  # canary: both arms in one run
    changed: list[ChangedCase] = field(default_factory=list)  # good → bad, answers side by side

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any] | ComparisonSection) -> Report:
        """The report :meth:`to_dict` wrote (results.json's ``canary``)."""
        if isinstance(doc, ComparisonSection):
            doc = doc.model_dump()
        return cls(
            baseline_label=doc["baseline"]["label"],
            candidate_label=doc["candidate"]["label"],
            baseline_run=doc["baseline"]["run_id"],
            candidate_run=doc["candidate"]["run_id"],
            comparisons=[SLOComparison(**c) for c in doc["comparisons"]],
            pairing=doc.get("pairing", {}),
            skipped=doc.get("skipped_journeys", []),
            kind=doc.get("kind", "compare"),
            changed=[ChangedCase(**c) for c in doc.get("changed_cases") or ()],
        )

    @property
    def exit_code(self) -> int:
        """As the gate decides it from :meth:`gate_reasons` (cujeval.core.gate.exit_code)."""
        from cujeval.core.gate import exit_code

        return exit_code(self.gate_reasons())

    def reasons(self) -> list[str]:
        return [c.reason(self.baseline_label) for c in self.blocking]

    def gate_reasons(self, *, strict: bool = False) -> list[GateReason]:
        """What the comparison does to the gate: a regression beyond the allowed drop blocks;
        a comparison too small to see the allowed drop warns (blocks under ``strict``)."""
        from cujeval.spec.results import GateReason

        out = []
        for c in self.comparisons:
            if c.blocks:
                detail = c.reason(self.baseline_label).removeprefix(f"{c.label} REGRESSED ")
                out.append(
                    GateReason(
                        kind="regressed",
                        action="block",
                        journey=c.journey,
                        slo=c.slo,
                        detail=detail,
                    )
                )
            elif c.change == "INCONCLUSIVE":
                out.append(
                    GateReason(
                        kind="comparison_inconclusive",
                        action="block" if strict else "warn",
                        journey=c.journey,
                        slo=c.slo,
                        detail=f"against baseline {self.baseline_label}: {c.note}",
                    )
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "baseline": {"label": self.baseline_label, "run_id": self.baseline_run},
            "candidate": {"label": self.candidate_label, "run_id": self.candidate_run},
            "blocking": self.reasons(),
            "pairing": self.pairing,
            "skipped_journeys": self.skipped,
            "comparisons": [asdict(c) for c in self.comparisons],
            "changed_cases": [asdict(c) for c in self.changed],
        }


def compare_runs(
    baseline: LoadedRun,
    candidate: LoadedRun,
    *,
    suite: Suite | None = None,
    policy: BudgetPolicy | None = None,
    detect: float | None = None,
) -> Report:
    """Every journey both runs hold; SLOs as the suite defines them (else as the candidate's
    results.json records them)."""
    policy = policy or (suite.budget if suite else None) or DEFAULT_POLICY
    settings = suite.settings if suite is not None else settings_of(candidate.result)
    specs = {j.name: j for j in suite.journeys} if suite is not None else {}
    base_names = {j.name for j in baseline.result.journeys}
    comparisons: list[SLOComparison] = []
    pairing: dict[str, dict[str, int]] = {}
    changed: list[ChangedCase] = []
    skipped = []
    for j in candidate.result.journeys:
        if j.name not in base_names:
            skipped.append(j.name)
            continue
        journey = specs.get(j.name) or journey_from_result(j)
        b_rows = [r for r in baseline.rows if r.journey == j.name]
        c_rows = [r for r in candidate.rows if r.journey == j.name]
        pairing[j.name] = pair(b_rows, c_rows).counts()
        found = compare(b_rows, c_rows, journey, settings, policy=policy, detect=detect)
        comparisons += found
        changed += changed_cases(found, b_rows, c_rows)
    skipped += sorted(base_names - {j.name for j in candidate.result.journeys})
    if not any(p["paired"] for p in pairing.values()):
        from cujeval.errors import InputError

        why = (
            "no journey is in both runs"
            if not pairing
            else "they share no case id (or every shared case changed)"
        )
        raise InputError(
            f"nothing to compare: baseline {baseline.label} and candidate {candidate.label}: {why}",
            field="baseline",
        )
    return Report(
        baseline_label=baseline.label,
        candidate_label=candidate.label,
        baseline_run=baseline.mlflow_run_id or baseline.result.run_id,
        candidate_run=candidate.mlflow_run_id or candidate.result.run_id,
        comparisons=comparisons,
        pairing=pairing,
        skipped=skipped,
        changed=changed[:MAX_CHANGED],
    )
