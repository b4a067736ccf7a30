"""The release gate, decided once from typed reasons; the one place exit codes come from.

Every finding that can hold a release back is a :class:`~cujeval.spec.results.GateReason` naming its
kind, journey and SLO, and whether it blocks or warns under the suite's policy:

- an SLO's verdict: BREACHED blocks; NO_DATA blocks (``no_data: warn`` makes it warn);
  INCONCLUSIVE warns (``strict`` makes it block); an SLO that could judge no more than
  ``max_unscorable_share`` of the cases blocks; an SLO with ``blocking: false`` only warns;
- before the run, a ratio target the journey's cases cannot prove MET warns (small sample);
- a journey with more scorer errors than ``max_scorer_errors`` (default 0) blocks;
- the ledger: an exhausted error budget blocks (``budget.block_exhausted``), a budget whose
  history cannot be read blocks (``budget.on_unavailable: warn`` makes it warn), an SLO that
  regressed against its baseline beyond the allowed drop blocks, a comparison with too few
  pairs to detect the allowed drop warns (blocks under strict);
- a run that could not complete (``incomplete``).

Exit code (:func:`exit_code`): 3 when the run is incomplete, else 1 when any reason blocks,
else 0. The decision is stored in results.json; every reporter and door reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from cujeval.spec.results import (
    Action,
    GateEntry,
    GateReason,
    GateSLOEntry,
    JourneyResult,
    SLOEntry,
)

if TYPE_CHECKING:
    from cujeval.spec.suite import Settings

_RANK: Mapping[str, int] = {"pass": 0, "warn": 1, "block": 2}
EXIT_PASSED, EXIT_FAILED, EXIT_INPUT, EXIT_INCOMPLETE = 0, 1, 2, 3


def policy_text(settings: Settings) -> str:
    parts = [f"gate={settings.gate}"]
    if settings.strict:
        parts.append("strict")
    if settings.no_data != "block":
        parts.append(f"no_data={settings.no_data}")
    parts.append(f"max_scorer_errors={settings.max_scorer_errors}")
    return ", ".join(parts)


def unscorable_share(slo: SLOEntry) -> float:
    """Share of the journey's cases this SLO could not judge."""
    total = slo.n + slo.n_unscorable
    return slo.n_unscorable / total if total else 1.0


def _soften(action: Action, blocking: bool) -> Action:
    """An informational SLO (``blocking: false``) never blocks."""
    return "warn" if action == "block" and not blocking else action


def slo_reasons(journey: str, slo: SLOEntry, settings: Settings) -> list[GateReason]:
    """What one SLO's verdict does to the gate under the policy (nothing when MET)."""
    out: list[GateReason] = []
    informational = "" if slo.blocking else " (informational SLO)"

    def add(kind: str, action: Action, detail: str) -> None:
        act = _soften(action, slo.blocking)
        if act != "pass":
            out.append(
                GateReason.model_validate(
                    {
                        "kind": kind,
                        "action": act,
                        "journey": journey,
                        "slo": slo.name,
                        "detail": (detail + (informational if act != action else "")).strip(),
                    }
                )
            )

    share = unscorable_share(slo)
    if slo.verdict != "NO_DATA" and share > settings.max_unscorable_share:
        add(
            "unscorable",
            "block",
            f"{share:.0%} of cases not scorable (the policy allows "
            f"{settings.max_unscorable_share:.0%})",
        )
    if slo.verdict == "BREACHED":
        add("breached", "block", "")
    elif slo.verdict == "NO_DATA":
        add("no_data", "block" if settings.no_data == "block" else "warn", "")
    elif slo.verdict == "INCONCLUSIVE":
        add(
            "inconclusive",
            "block" if settings.strict else "warn",
            "blocks under --strict" if settings.strict else "",
        )
    return out


def journey_reasons(journey: JourneyResult, settings: Settings) -> list[GateReason]:
    """The verdicts of every SLO of a journey, and its scorer errors against the policy."""
    out = [r for slo in journey.slos for r in slo_reasons(journey.name, slo, settings)]
    errors = journey.n_scorer_errors
    if errors > settings.max_scorer_errors:
        by = ", ".join(f"{k} {v}" for k, v in journey.scorer_errors.items())
        out.append(
            GateReason(
                kind="scorer_errors",
                action="block",
                journey=journey.name,
                detail=f"{errors} scorer error{'s' if errors != 1 else ''} ({by}); "
                f"the policy allows {settings.max_scorer_errors}",
            )
        )
    return out


def incomplete(detail: str) -> GateReason:
    return GateReason(kind="incomplete", action="block", detail=detail)


def exit_code(reasons: Iterable[GateReason]) -> int:
    """3 when the run is incomplete, 1 when a reason blocks, else 0."""
    reasons = list(reasons)
    if any(r.kind == "incomplete" for r in reasons):
        return EXIT_INCOMPLETE
    return EXIT_FAILED if any(r.action == "block" for r in reasons) else EXIT_PASSED


def worst(codes: Iterable[int]) -> int:
    """The exit code of several gates (``demo``'s suites, ``scenarios``): incomplete over bad
    input over failed over passed."""
    rank = {EXIT_PASSED: 0, EXIT_FAILED: 1, EXIT_INPUT: 2, EXIT_INCOMPLETE: 3}
    return max(codes, key=lambda c: rank.get(c, 3), default=EXIT_PASSED)


def decide(
    journeys: Sequence[JourneyResult],
    settings: Settings,
    reasons: Iterable[GateReason] = (),
) -> GateEntry:
    """The gate over every journey's verdicts and the other ``reasons`` (pre-run checks, the
    ledger, an incomplete run), under the suite's policy."""
    found = [r for j in journeys for r in journey_reasons(j, settings)]
    found += list(reasons)
    slos = []
    for j in journeys:
        for s in j.slos:
            own = [r for r in found if r.journey == j.name and r.slo == s.name]
            action: Action = max((r.action for r in own), key=_RANK.__getitem__, default="pass")
            text = "; ".join(
                r.kind.replace("_", " ") + (f": {r.detail}" if r.detail else "") for r in own
            )
            slos.append(
                GateSLOEntry(
                    journey=j.name,
                    slo=s.name,
                    verdict=s.verdict,
                    action=action,
                    reason=text or ("met" if s.verdict == "MET" else s.verdict.lower()),
                )
            )
    names = [j.name for j in journeys]
    per_journey: dict[str, Action] = {}
    for name in names:
        acts = [r.action for r in found if r.journey == name]
        per_journey[name] = max(acts, key=_RANK.__getitem__, default="pass")
    code = exit_code(found)
    return GateEntry(
        passed=code == EXIT_PASSED,
        exit_code=code,
        policy=policy_text(settings),
        reasons=found,
        slos=slos,
        journeys=per_journey,
        blocking=[r.text for r in found if r.action == "block"],
        warnings=[r.text for r in found if r.action == "warn"],
    )


__all__ = [
    "EXIT_FAILED",
    "EXIT_INCOMPLETE",
    "EXIT_INPUT",
    "EXIT_PASSED",
    "decide",
    "exit_code",
    "incomplete",
    "journey_reasons",
    "policy_text",
    "slo_reasons",
    "unscorable_share",
    "worst",
]
