"""The same-run canary: a journey with ``baseline_target`` sends every case to two targets in
one run, both arms at the same time and in the same case order, and holds the candidate
(``target``) against the baseline case by case (:func:`cujeval.core.compare.compare`: McNemar for
good/bad SLOs, the paired bootstrap for aggregates, the suite's ``budget.max_drop`` as the
allowed drop). Both arms meet the same moment's load, so a latency difference between them
is the targets' own; two runs minutes apart on a shared machine differ by 5-15 % by themselves.

The baseline arm is an ordinary journey of the run called ``JOURNEY@baseline``: its rows go to
the journal (so ``--resume`` holds), its SLOs are judged and reported but never block (the gate
is about the candidate), and it is logged to MLflow beside the candidate's journey. A
regression beyond the allowed drop blocks the candidate's journey (exit 1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from cujeval.spec.suite import ARM, arm_name

if TYPE_CHECKING:
    from cujeval.core.compare import Report
    from cujeval.spec.journal import JournalRow
    from cujeval.spec.suite import Settings, Suite


def arms(suite: Suite) -> dict[str, str]:
    """Canary journeys (by name) and their baseline arms' names."""
    return {j.name: arm_name(j.name) for j in suite.journeys if j.baseline_target is not None}


def with_arms(suite: Suite) -> Suite:
    """The suite with each canary journey's baseline arm right after it: same dataset,
    scorers and SLOs (not blocking), the baseline target."""
    if not arms(suite):
        return suite
    journeys = []
    for j in suite.journeys:
        journeys.append(j)
        if j.baseline_target is not None:
            journeys.append(
                j.model_copy(
                    update={
                        "name": arm_name(j.name),
                        "description": f"baseline arm of {j.name} (target {j.baseline_target})",
                        "target": j.baseline_target,
                        "baseline_target": None,
                        "slos": tuple(s.model_copy(update={"blocking": False}) for s in j.slos),
                    }
                )
            )
    return suite.model_copy(update={"journeys": tuple(journeys)})


def groups(names: Iterable[str], suite: Suite) -> list[list[str]]:
    """Journeys that run at the same time: a canary journey with its arm, others alone."""
    pairs = arms(suite)
    paired = set(pairs.values())
    out: list[list[str]] = []
    for name in names:
        if name in paired:
            continue
        out.append([name, pairs[name]] if name in pairs else [name])
    return out


def compare_arms(
    suite: Suite, rows: Iterable[JournalRow], settings: Settings, run_id: str
) -> Report | None:
    """Every canary journey's SLOs, candidate against its baseline arm (None: no canary)."""
    from cujeval.core.compare import Report, compare
    from cujeval.core.paired import pair
    from cujeval.spec.budget import DEFAULT_POLICY

    pairs = arms(suite)
    if not pairs:
        return None
    by_journey: dict[str, list[JournalRow]] = defaultdict(list)
    for row in rows:
        if row.journey in pairs or row.journey in pairs.values():
            by_journey[row.journey].append(row)
    policy = suite.budget or DEFAULT_POLICY
    comparisons = []
    pairing: dict[str, dict[str, int]] = {}
    canaries = [j for j in suite.journeys if j.name in pairs]
    for j in canaries:
        base, cand = by_journey[pairs[j.name]], by_journey[j.name]
        pairing[j.name] = pair(base, cand).counts()
        comparisons += compare(base, cand, j, settings, policy=policy)
    return Report(
        baseline_label=_targets(j.baseline_target or "" for j in canaries),
        candidate_label=_targets(j.target for j in canaries),
        baseline_run=run_id,
        candidate_run=run_id,
        comparisons=comparisons,
        pairing=pairing,
        kind="canary",
    )


def _targets(names: Iterable[str]) -> str:
    unique = sorted(set(names))
    return ("target " if len(unique) == 1 else "targets ") + ", ".join(unique)


__all__ = ["ARM", "arm_name", "arms", "compare_arms", "groups", "with_arms"]
