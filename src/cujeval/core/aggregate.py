"""Per-journey columns of SLI values, filled as rows stream in.

Only numbers are held (one float per case and SLI, NaN where not scorable); answers, contexts
and explanations go to the journal on disk. Memory grows by ~8 bytes per case and SLI.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from cujeval.spec.records import Value
from cujeval.spec.results import SLIEntry


class Columns:
    """Columnar store: ``case_ids[i]``, ``ok[i]`` and ``values[sli][i]`` for row i; the
    case's ``clusters[i]``; ``scorer_errors[sli]`` the rows where that SLI's scorer raised."""

    def __init__(self) -> None:
        self.case_ids: list[str] = []
        self.clusters: list[str | None] = []
        self.epochs = array("i")
        self.ok = array("b")
        self.values: dict[str, array[float]] = {}
        self.scorer_errors: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self.case_ids)

    def add(
        self,
        case_id: str,
        epoch: int,
        ok: bool,
        scores: Mapping[str, Value],
        *,
        cluster: str | None = None,
        scorer_errors: Iterable[str] = (),
    ) -> None:
        n = len(self.case_ids)
        self.case_ids.append(case_id)
        self.clusters.append(cluster)
        self.epochs.append(epoch)
        self.ok.append(1 if ok else 0)
        for sli in scorer_errors:
            self.scorer_errors.setdefault(sli, []).append(n)
        for sli, value in scores.items():
            col = self.values.get(sli)
            if col is None:
                col = self.values[sli] = array("d", [math.nan]) * n
            col.append(math.nan if value is None else float(value))
        for col in self.values.values():
            if len(col) == n:
                col.append(math.nan)

    def column(self, sli: str) -> np.ndarray:
        import numpy as np

        col = self.values.get(sli)
        if col is None:
            return np.full(len(self), np.nan)
        return np.frombuffer(col, dtype=np.float64)

    def case_codes(self) -> tuple[np.ndarray, list[str]]:
        """Each row's case as an index into the list of distinct case ids (first-seen order):
        repeats (epochs) of one case share a code."""
        import numpy as np

        index: dict[str, int] = {}
        codes = np.fromiter(
            (index.setdefault(c, len(index)) for c in self.case_ids), dtype=np.int64
        )
        return codes, list(index)

    def ok_mask(self) -> np.ndarray:
        import numpy as np

        return np.frombuffer(self.ok, dtype=np.int8).astype(bool)


def summarise(columns: Columns) -> list[SLIEntry]:
    """Descriptive statistics of every SLI over its scorable cases."""
    import numpy as np

    out = []
    for sli in sorted(columns.values):
        col = columns.column(sli)
        vals = col[~np.isnan(col)]
        if vals.size == 0:
            out.append(SLIEntry(name=sli, n=0, mean=None, p50=None, p95=None, min=None, max=None))
            continue
        out.append(
            SLIEntry(
                name=sli,
                n=int(vals.size),
                mean=float(vals.mean()),
                p50=float(np.percentile(vals, 50)),
                p95=float(np.percentile(vals, 95)),
                min=float(vals.min()),
                max=float(vals.max()),
            )
        )
    return out
