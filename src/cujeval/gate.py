"""The release gate, decided once: per SLO whether it blocks, warns or passes, and why.

Policy (suite ``settings`` and flags): BREACHED blocks; NO_DATA blocks (``no_data: warn`` makes
it warn); INCONCLUSIVE warns (``strict`` makes it block); an SLO with ``blocking: false`` only
warns; an SLO that could not judge more than ``max_unscorable_share`` of the cases (default
half) blocks. A journey with more scorer errors than ``max_scorer_errors`` (default 0) blocks. A run
that could not complete exits 3 whatever the verdicts. Exit 0 passed, 1 failed, 3 incomplete.
The decision is stored in results.json; every reporter reads it and none recomputes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal

from cujeval.results import GateEntry, GateSLOEntry, RunResult
from cujeval.slo import SLOResult, Verdict, unscorable_share
from cujeval.suite import Settings

Action = Literal["pass", "warn", "block"]


@dataclass(frozen=True)
class SLOGate:
    journey: str
    slo: str
    verdict: str
    action: Action
    reason: str

    @property
    def label(self) -> str:
        return f"{self.journey}/{self.slo} {self.verdict}"


@dataclass(frozen=True)
class Gate:
    passed: bool
    exit_code: int
    policy: str
    slos: list[SLOGate]
    journeys: dict[str, Action]  # per journey: the worst action of its SLOs and scorer errors
    reasons: list[str] = field(default_factory=list)  # what blocks, besides SLOs

    @property
    def blocking(self) -> list[str]:
        return [s.label for s in self.slos if s.action == "block"] + self.reasons

    @property
    def warnings(self) -> list[str]:
        return [s.label for s in self.slos if s.action == "warn"]

    def entry(self) -> GateEntry:
        """The decision as results.json stores it."""
        return GateEntry(
            passed=self.passed,
            exit_code=self.exit_code,
            policy=self.policy,
            blocking=self.blocking,
            warnings=self.warnings,
            slos=[GateSLOEntry.model_validate(asdict(s)) for s in self.slos],
            journeys=self.journeys,
        )


def policy_text(settings: Settings) -> str:
    parts = [f"gate={settings.gate}"]
    if settings.strict:
        parts.append("strict")
    if settings.no_data != "block":
        parts.append(f"no_data={settings.no_data}")
    parts.append(f"max_scorer_errors={settings.max_scorer_errors}")
    return ", ".join(parts)


def _action(r: SLOResult, settings: Settings) -> tuple[Action, str]:
    share = unscorable_share(r)
    if r.verdict is not Verdict.NO_DATA and share > settings.max_unscorable_share:
        reason = (
            f"{share:.0%} of cases not scorable (the policy allows "
            f"{settings.max_unscorable_share:.0%})"
        )
        return ("block", reason) if r.blocking else ("warn", reason + " (informational SLO)")
    if r.verdict is Verdict.MET:
        return "pass", "met"
    if r.verdict is Verdict.BREACHED:
        action: Action = "block"
        reason = "breached"
    elif r.verdict is Verdict.NO_DATA:
        action = "block" if settings.no_data == "block" else "warn"
        reason = "no valid case: nothing measured"
    else:
        action = "block" if settings.strict else "warn"
        reason = "inconclusive" + (" under --strict" if settings.strict else "")
    if action == "block" and not r.blocking:
        return "warn", reason + " (informational SLO)"
    return action, reason


def decide(
    verdicts: Mapping[str, list[SLOResult]],
    settings: Settings,
    *,
    scorer_errors: Mapping[str, int] | None = None,
    aborted: str | None = None,
) -> Gate:
    """The gate over every journey's verdicts under the suite's policy."""
    slos: list[SLOGate] = []
    journeys: dict[str, Action] = {}
    reasons: list[str] = []
    rank = {"pass": 0, "warn": 1, "block": 2}
    for journey, results in verdicts.items():
        worst: Action = "pass"
        for r in results:
            action, reason = _action(r, settings)
            slos.append(SLOGate(journey, r.name, r.verdict.value, action, reason))
            worst = action if rank[action] > rank[worst] else worst
        errors = (scorer_errors or {}).get(journey, 0)
        if errors > settings.max_scorer_errors:
            reasons.append(
                f"{journey}: {errors} scorer error{'s' if errors != 1 else ''} "
                f"(the policy allows {settings.max_scorer_errors})"
            )
            worst = "block"
        journeys[journey] = worst
    if aborted:
        reasons.append(f"run incomplete: {aborted}")
    blocked = any(s.action == "block" for s in slos) or bool(reasons)
    exit_code = 3 if aborted else (1 if blocked else 0)
    return Gate(
        passed=not blocked,
        exit_code=exit_code,
        policy=policy_text(settings),
        slos=slos,
        journeys=journeys,
        reasons=reasons,
    )


def amend(result: RunResult, reasons: list[str]) -> RunResult:
    """The result with more blocking ``reasons`` (an exhausted error budget, a regression
    against the baseline) folded into its one gate decision, before any reporter reads it.
    An incomplete run keeps exit 3."""
    if not reasons:
        return result
    gate = result.gate
    blocking = [*gate.blocking, *reasons]
    exit_code = gate.exit_code if gate.exit_code == 3 else 1
    journeys = dict(gate.journeys)
    for reason in reasons:
        name = reason.split(":", 1)[0].split("/", 1)[0]
        if name in journeys:
            journeys[name] = "block"
    new_gate = gate.model_copy(
        update={"passed": False, "exit_code": exit_code, "blocking": blocking, "journeys": journeys}
    )
    return result.model_copy(update={"gate": new_gate})
