"""The pieces of a paired comparison: per-case values of two runs, which cases pair (same id,
same golden row), and how many pairs a drop needs to be seen (power)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cujeval.spec.journal import JournalRow
    from cujeval.spec.suite import Journey, SLOSpec

POWER = 0.8


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


def z_of(p: float) -> float:
    return NormalDist().inv_cdf(p)


def mcnemar_cases_needed(delta: float, discordant: float, alpha: float) -> int | None:
    """Paired cases for McNemar to detect a change δ in the share of good cases (Connor):
    n = (z_{1−α/2}·√ψ + z_{power}·√(ψ − δ²))² / δ², with ψ = max(discordant share, δ)."""
    if not 0 < delta < 1:
        return None
    psi = min(max(discordant, delta), 1.0)
    spread = max(psi - delta**2, 0.0)
    n = (z_of(1 - alpha / 2) * math.sqrt(psi) + z_of(POWER) * math.sqrt(spread)) ** 2
    return math.ceil(n / delta**2)


def bootstrap_cases_needed(n: int, se: float, delta: float, alpha: float) -> int | None:
    """n' = n·((z_{1−α/2} + z_{power})·se / δ)² for a paired difference whose standard error
    is ``se`` at n cases (se shrinks as 1/√n); None when nothing varies or δ = 0."""
    if n <= 0 or se <= 0 or delta <= 0:
        return None
    return math.ceil(n * ((z_of(1 - alpha / 2) + z_of(POWER)) * se / delta) ** 2)
