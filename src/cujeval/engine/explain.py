"""Why each worst case is bad, in words: the scorer's explanation of the SLO's SLI on that row
(``product:required_phrases(phrases=['refund']): missing 'refund'``, a judge's reason, the
target's error), read back from the journal in one pass after the verdicts. Stored on the
worst case as ``why``, so every report (console, summary.md, report.html, JUnit, pytest) says
what failed, not only which case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cujeval.errors import InputError
from cujeval.spec.journal import JournalRow, RowKey, read_rows
from cujeval.spec.results import JourneyResult
from cujeval.spec.suite import Journey, SLOSpec

MAX_WHY = 300  # characters of one worst case's reason


def explain_worst(journeys: Iterable[JourneyResult], specs: Iterable[Journey], path: Path) -> None:
    """Add ``why`` to every worst case of ``journeys`` from the journal at ``path``. A journal
    that cannot be read leaves the worst cases as they are (ids and values still show)."""
    by_name = {j.name: j for j in specs}
    wanted: dict[RowKey, list[tuple[SLOSpec, Journey, dict[str, Any]]]] = {}
    for result in journeys:
        journey = by_name.get(result.name)
        if journey is None:
            continue
        slos = {s.name: s for s in journey.slos}
        for entry in result.slos:
            spec = slos.get(entry.name)
            if spec is None or spec.kind == "aggregate":
                continue
            for worst in entry.worst_cases:
                key = (result.name, str(worst["case_id"]), int(worst.get("epoch", 0)))
                wanted.setdefault(key, []).append((spec, journey, worst))
    if not wanted or not path.exists():
        return
    try:
        for row in read_rows(path):
            for spec, journey, worst in wanted.pop(row.key, ()):
                why = reason(spec, journey, row)
                if why:
                    worst["why"] = why if len(why) <= MAX_WHY else why[: MAX_WHY - 1] + "…"
            if not wanted:
                return
    except InputError:
        return


def reason(spec: SLOSpec, journey: Journey, row: JournalRow) -> str:
    """What made ``row`` bad for a ratio or journey SLO, in a line."""
    if spec.kind == "journey":
        steps = [s for s in journey.slos if s.name in (spec.all_of or ())]
        parts = [
            f"{step.name}: {_explained(step, row)}"
            for step in steps
            if _bad(step, row, journey_success=True)
        ]
        return "; ".join(parts)
    return _explained(spec, row)


def _explained(spec: SLOSpec, row: JournalRow) -> str:
    sli = spec.predicate.sli
    score: Mapping[str, Any] = row.scores.get(sli) or {}
    text = " ".join(str(score.get("explanation") or "").split())
    if not row.ok:
        error = " ".join(str(row.observation.get("error") or row.status).split())
        return text if text and error in text else f"the target failed: {error}"
    if text:
        return text
    value = score.get("value")
    return f"{sli} = {value}" if value is not None else f"{sli} not scorable"


def _bad(spec: SLOSpec, row: JournalRow, *, journey_success: bool) -> bool:
    value = (row.scores.get(spec.predicate.sli) or {}).get("value")
    if value is None:
        return (journey_success and not row.ok) or spec.unscorable == "bad"
    return not spec.predicate(value)


__all__ = ["explain_worst", "reason"]
