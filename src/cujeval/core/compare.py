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

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from cujeval.spec.budget import DEFAULT_POLICY, BudgetPolicy

if TYPE_CHECKING:
    from cujeval.spec.journal import JournalRow
    from cujeval.spec.results import GateReason, JourneyResult, RunResult
    from cujeval.spec.suite import Journey, Settings, SLOSpec, Suite
    from cujeval.tracking.history import LoadedRun

Change = Literal["REGRESSED", "IMPROVED", "NO CHANGE", "INCONCLUSIVE"]
POWER = 0.8
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

    @property
    def label(self) -> str:
        return f"{self.journey}/{self.slo}"

    def reason(self, baseline_label: str) -> str:
        """The gate's blocking reason (starts with the journey, as gate.amend expects)."""
        return (
            f"{self.label} REGRESSED against baseline {baseline_label}: "
            f"{_fmt(self, self.baseline)} -> {_fmt(self, self.candidate)} "
            f"({self.worse} worse, {self.better} better of {self.n_paired} paired cases"
            + (f", p = {self.p_value:.3g}" if self.p_value is not None else "")
            + f"; allowed drop {_drop_text(self, self.max_drop)})"
        )


def _fmt(c: SLOComparison, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.1%}" if c.kind != "aggregate" else f"{v:.4g}"


def _drop_text(c: SLOComparison, d: float) -> str:
    return f"{d * 100:.1f} points" if c.kind != "aggregate" else f"{d:.0%}"


# ---- per-case values ----------------------------------------------------------------------


def _columns(rows: Iterable[JournalRow]) -> Any:
    from cujeval.core.aggregate import Columns

    cols = Columns()
    for row in rows:
        errored = [
            k
            for k, s in row.scores.items()
            if ((s or {}).get("metadata") or {}).get("scorer_error")
        ]
        cols.add(
            row.case_id,
            row.epoch,
            row.ok,
            row.values(),
            cluster=row.cluster,
            scorer_errors=errored,
        )
    return cols


def case_shares(rows: Sequence[JournalRow], spec: SLOSpec, journey: Journey) -> dict[str, float]:
    """Per case, the share of its judged repeats that are good for a ratio or journey SLO
    (the same predicate logic as the verdict); cases the SLO could not judge are absent."""
    import numpy as np

    from cujeval.core.slo import row_masks

    if not rows:
        return {}
    columns = _columns(rows)
    valid, good = row_masks(spec, columns, journey)
    codes, ids = columns.case_codes()
    n_valid = np.bincount(codes, weights=valid, minlength=len(ids))
    n_good = np.bincount(codes, weights=good, minlength=len(ids))
    return {ids[i]: float(n_good[i] / n_valid[i]) for i in range(len(ids)) if n_valid[i] > 0}


def case_values(rows: Sequence[JournalRow], sli: str) -> dict[str, float]:
    """Per case, the mean of its repeats' finite values of ``sli``."""
    sums: dict[str, list[float]] = {}
    for row in rows:
        v = (row.scores.get(sli) or {}).get("value")
        if isinstance(v, bool | int | float) and math.isfinite(float(v)):
            acc = sums.setdefault(row.case_id, [0.0, 0.0])
            acc[0] += float(v)
            acc[1] += 1.0
    return {k: s / n for k, (s, n) in sums.items()}


def _hashes(rows: Iterable[JournalRow]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for row in rows:
        out.setdefault(row.case_id, row.case_hash)
    return out


@dataclass(frozen=True)
class Pairing:
    common: list[str]
    only_baseline: int
    only_candidate: int
    changed: int  # same id, different golden row

    def counts(self) -> dict[str, int]:
        """As reports hold it (``pairing`` per journey)."""
        return {
            "paired": len(self.common),
            "only_baseline": self.only_baseline,
            "only_candidate": self.only_candidate,
            "changed": self.changed,
        }


def pair(baseline: Sequence[JournalRow], candidate: Sequence[JournalRow]) -> Pairing:
    hb, hc = _hashes(baseline), _hashes(candidate)
    changed = [k for k in hc if k in hb and hb[k] and hc[k] and hb[k] != hc[k]]
    common = [k for k in hc if k in hb and k not in set(changed)]
    return Pairing(
        common=common,
        only_baseline=len([k for k in hb if k not in hc]),
        only_candidate=len([k for k in hc if k not in hb]),
        changed=len(changed),
    )


# ---- the tests --------------------------------------------------------------------------


def _z(p: float) -> float:
    return NormalDist().inv_cdf(p)


def mcnemar_cases_needed(delta: float, discordant: float, alpha: float) -> int | None:
    """Paired cases for McNemar to detect a change δ in the share of good cases (Connor):
    n = (z_{1−α/2}·√ψ + z_{power}·√(ψ − δ²))² / δ², with ψ = max(discordant share, δ)."""
    if not 0 < delta < 1:
        return None
    psi = min(max(discordant, delta), 1.0)
    n = (_z(1 - alpha / 2) * math.sqrt(psi) + _z(POWER) * math.sqrt(max(psi - delta**2, 0.0))) ** 2
    return math.ceil(n / delta**2)


def bootstrap_cases_needed(n: int, se: float, delta: float, alpha: float) -> int | None:
    """n' = n·((z_{1−α/2} + z_{power})·se / δ)² for a paired difference whose standard error
    is ``se`` at n cases (se shrinks as 1/√n); None when nothing varies or δ = 0."""
    if n <= 0 or se <= 0 or delta <= 0:
        return None
    return math.ceil(n * ((_z(1 - alpha / 2) + _z(POWER)) * se / delta) ** 2)


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
        return SLOComparison(
            test="none",
            baseline=None,
            candidate=None,
            diff=None,
            lower=None,
            upper=None,
            p_value=None,
            worse=0,
            better=0,
            change="INCONCLUSIVE",
            drop=0.0,
            blocks=False,
            cases_needed=mcnemar_cases_needed(detect, detect, alpha),
            note="no case judged in both runs",
            **common,
        )
    a = [sb[k] for k in ids]
    b = [sc[k] for k in ids]
    worse = sum(1 for x, y in zip(a, b, strict=True) if y < x)
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
        se = (upper - lower) / (2 * _z(1 - alpha / 2))
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
        return SLOComparison(
            baseline=None,
            candidate=None,
            diff=None,
            lower=None,
            upper=None,
            p_value=None,
            worse=0,
            better=0,
            change="NO CHANGE",
            drop=0.0,
            blocks=False,
            cases_needed=None,
            note=f"a ratio over the whole run is not compared case by case: compare "
            f"{obj.success!r} and {obj.sli!r}",
            **common,
        )
    if n < max(2, needed):
        a = [vb[k] for k in ids]
        b = [vc[k] for k in ids]
        sb_ = stats.statistic_value(a, obj.statistic) if a else None
        sc_ = stats.statistic_value(b, obj.statistic) if b else None
        return SLOComparison(
            baseline=sb_,
            candidate=sc_,
            diff=None if sb_ is None or sc_ is None else sc_ - sb_,
            lower=None,
            upper=None,
            p_value=None,
            worse=sum(1 for x, y in zip(a, b, strict=True) if (y < x if up else y > x)),
            better=sum(1 for x, y in zip(a, b, strict=True) if (y > x if up else y < x)),
            change="INCONCLUSIVE",
            drop=0.0,
            blocks=False,
            cases_needed=max(2, needed),
            note=f"too few pairs: {n} paired case(s), a bound of {obj.statistic} needs "
            f"{max(2, needed)}",
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
    se = (upper - lower) / (2 * _z(1 - alpha / 2))
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


@dataclass
class Report:
    """A candidate compared with a baseline, journey by journey."""

    baseline_label: str
    candidate_label: str
    baseline_run: str
    candidate_run: str
    comparisons: list[SLOComparison]
    pairing: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # journeys only one run has
    kind: Literal["compare", "canary"] = "compare"  # canary: both arms in one run

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Report:
        """The report :meth:`to_dict` wrote (results.json's ``canary``)."""
        return cls(
            baseline_label=doc["baseline"]["label"],
            candidate_label=doc["candidate"]["label"],
            baseline_run=doc["baseline"]["run_id"],
            candidate_run=doc["candidate"]["run_id"],
            comparisons=[SLOComparison(**c) for c in doc["comparisons"]],
            pairing=doc.get("pairing", {}),
            skipped=doc.get("skipped_journeys", []),
            kind=doc.get("kind", "compare"),
        )

    @property
    def regressed(self) -> list[SLOComparison]:
        return [c for c in self.comparisons if c.change == "REGRESSED"]

    @property
    def blocking(self) -> list[SLOComparison]:
        return [c for c in self.comparisons if c.blocks]

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
        }

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        from cujeval._util.redact import dumps, redact

        (directory / "compare.json").write_text(dumps(self.to_dict(), indent=2), encoding="utf-8")
        (directory / "compare.md").write_text(redact(self.to_markdown()), encoding="utf-8")

    def summary(self) -> str:
        n_reg, n_block = len(self.regressed), len(self.blocking)
        unsure = sum(1 for c in self.comparisons if c.change == "INCONCLUSIVE")
        more = f"; {unsure} SLO(s) INCONCLUSIVE: too few pairs to see the allowed drop"
        more = more if unsure else ""
        if n_block:
            return f"{n_block} SLO(s) regressed beyond the allowed drop: blocks" + more
        if n_reg:
            return f"{n_reg} SLO(s) regressed, within the allowed drop" + more
        return ("no SLO shown to regress" if unsure else "no SLO regressed") + more

    def to_text(self) -> str:
        if self.kind == "canary":
            head = (
                f"{self.kind}: candidate {self.candidate_label} against baseline "
                f"{self.baseline_label}, both answering every case in run {self.candidate_run}"
            )
        else:
            head = (
                f"compare: candidate {self.candidate_label} ({self.candidate_run}) against "
                f"baseline {self.baseline_label} ({self.baseline_run})"
            )
        lines = [head]
        width = max([len(c.label) for c in self.comparisons] + [10])
        for c in self.comparisons:
            interval = (
                f"[{_signed(c, c.lower)}, {_signed(c, c.upper)}]" if c.lower is not None else ""
            )
            p = f" p={c.p_value:.3g}" if c.p_value is not None else ""
            block = "  BLOCKS" if c.blocks else ""
            lines.append(
                f"  {c.label:<{width}}  {c.change:<9}  {_fmt(c, c.baseline):>8} -> "
                f"{_fmt(c, c.candidate):<8} Δ {_signed(c, c.diff)} {interval}{p}  "
                f"n={c.n_paired} (-{c.worse}/+{c.better}){block}"
            )
            lines.append(f"  {'':<{width}}  {_power(c)}")
            if c.note and c.cases_needed is not None:
                lines.append(f"  {'':<{width}}  {c.note}")
        for journey, counts in self.pairing.items():
            if any(counts.get(k) for k in ("only_baseline", "only_candidate", "changed")):
                lines.append(
                    f"  {journey}: not paired: {counts['only_baseline']} only in the baseline, "
                    f"{counts['only_candidate']} only in the candidate, "
                    f"{counts['changed']} changed golden cases"
                )
        for journey in self.skipped:
            lines.append(f"  {journey}: in one run only, not compared")
        lines.append(f"{self.kind}: {self.summary()}")
        return "\n".join(lines)

    HEADER: ClassVar[tuple[str, ...]] = (
        "journey / SLO",
        "change",
        "baseline",
        "candidate",
        "Δ (interval)",
        "test",
        "cases (worse / better)",
        "blocks",
    )

    def table(self) -> list[tuple[str, ...]]:
        """One row of text cells per SLO (columns: :attr:`HEADER`), regressions first."""
        order = sorted(
            self.comparisons,
            key=lambda c: (not c.blocks, c.change != "REGRESSED", c.change != "IMPROVED"),
        )
        rows: list[tuple[str, ...]] = []
        for c in order:
            interval = (
                f" ({_signed(c, c.lower)} … {_signed(c, c.upper)})" if c.lower is not None else ""
            )
            rows.append(
                (
                    c.label,
                    c.change,
                    _fmt(c, c.baseline),
                    _fmt(c, c.candidate),
                    f"{_signed(c, c.diff)}{interval}",
                    c.test + (f", p = {c.p_value:.3g}" if c.p_value is not None else ""),
                    f"{c.n_paired} ({c.worse} / {c.better})",
                    f"{'yes' if c.blocks else 'no'} (allowed {_drop_text(c, c.max_drop)})",
                )
            )
        return rows

    def power_lines(self) -> list[str]:
        return [f"{c.label}: {_power(c)}" for c in self.comparisons]

    def to_markdown(self) -> str:
        """A pull-request comment: a table of every SLO, regressions first."""
        icon = {"REGRESSED": "🔴", "IMPROVED": "🟢", "NO CHANGE": "⚪", "INCONCLUSIVE": "🟡"}
        out = [
            f"### cujeval {self.kind}: {_md(self.summary())}",
            "",
            f"Candidate `{_md(self.candidate_label)}` against baseline "
            f"`{_md(self.baseline_label)}`, paired by case id"
            + (", both answering every case in the same run." if self.kind == "canary" else "."),
            "",
            "| " + " | ".join(self.HEADER) + " |",
            "|" + "---|" * len(self.HEADER),
        ]
        for label, change, *cells, blocks in self.table():
            blocks = blocks.replace("yes", "**yes**", 1) if blocks.startswith("yes") else blocks
            out.append(
                f"| {_md(label)} | {icon[change]} {change} | "
                + " | ".join(_md(x) for x in cells)
                + f" | {blocks} |"
            )
        out += ["", "<details><summary>Power</summary>", ""]
        out += [f"- {_md(line)}" for line in self.power_lines()]
        out += ["", "</details>"]
        return "\n".join(out) + "\n"


def _signed(c: SLOComparison, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v * 100:+.1f} pts" if c.kind != "aggregate" else f"{v:+.4g}"


def _power(c: SLOComparison) -> str:
    what = f"a drop of {_drop_text(c, c.detect)}"
    if c.cases_needed is None:
        return f"detecting {what}: {c.note or 'no estimate'}"
    enough = "enough" if c.n_paired >= c.cases_needed else "too few"
    return (
        f"detecting {what} with {POWER:.0%} power needs about {c.cases_needed} paired cases "
        f"({c.n_paired} here: {enough})"
    )


def _md(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("`", "'")


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
    skipped = []
    for j in candidate.result.journeys:
        if j.name not in base_names:
            skipped.append(j.name)
            continue
        journey = specs.get(j.name) or journey_from_result(j)
        b_rows = [r for r in baseline.rows if r.journey == j.name]
        c_rows = [r for r in candidate.rows if r.journey == j.name]
        pairing[j.name] = pair(b_rows, c_rows).counts()
        comparisons += compare(b_rows, c_rows, journey, settings, policy=policy, detect=detect)
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
    )
