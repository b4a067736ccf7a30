"""How often the offline grounding judge and the LLM judge agree, case by case.

A journey that runs both ``faithfulness`` (offline: claims checked against the passages by a
small model) and ``llm_faithfulness`` (an LLM judge through ragas) has two opinions on every
answer. From the journal rows after the run:

    n_rows / n_cases   rows (case × epoch) and cases where both judged
    agreement          share of cases whose hallucination verdicts agree (a case with epochs:
                       the share of its rows that agree)
    table              the 2 × 2 of verdicts over rows: both flag, offline only, judge only,
                       neither
    kappa              Cohen's kappa of the verdicts over rows (None when one side never varies
                       and kappa is undefined)
    mean_abs_diff      mean |faithfulness - llm_faithfulness| over rows with both scores
    disagreements      the rows whose verdicts differ (or, without verdicts, whose scores differ
                       by 0.5 or more), largest score gap first, at most ``limit``
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

OFFLINE = ("faithfulness", "hallucination")
JUDGE = ("llm_faithfulness", "llm_hallucination")
SCORE_GAP = 0.5


def _scores(row: Any) -> Mapping[str, Any]:
    scores = row.get("scores") if isinstance(row, Mapping) else getattr(row, "scores", None)
    return scores if isinstance(scores, Mapping) else {}


def _field(row: Any, name: str, default: Any = None) -> Any:
    return row.get(name, default) if isinstance(row, Mapping) else getattr(row, name, default)


def _value(scores: Mapping[str, Any], sli: str) -> Any:
    score = scores.get(sli)
    return score.get("value") if isinstance(score, Mapping) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def agreement(rows: Iterable[Any], *, limit: int = 20) -> dict[str, Any]:
    """The agreement of ``faithfulness`` and ``llm_faithfulness`` over journal rows (JournalRow
    objects or their dicts); ``{}`` when no row has both."""
    table = {"both": 0, "offline_only": 0, "judge_only": 0, "neither": 0}
    by_case: dict[str, list[bool]] = defaultdict(list)
    gaps: list[float] = []
    disagree: list[dict[str, Any]] = []
    for row in rows:
        scores = _scores(row)
        offline_score = _number(_value(scores, OFFLINE[0]))
        judge_score = _number(_value(scores, JUDGE[0]))
        offline_flag = _value(scores, OFFLINE[1])
        judge_flag = _value(scores, JUDGE[1])
        verdicts = isinstance(offline_flag, bool) and isinstance(judge_flag, bool)
        both_scores = offline_score is not None and judge_score is not None
        if not verdicts and not both_scores:
            continue
        gap = None
        if offline_score is not None and judge_score is not None:
            gap = abs(offline_score - judge_score)
            gaps.append(gap)
        if verdicts:
            table[_cell(bool(offline_flag), bool(judge_flag))] += 1
            agrees = offline_flag == judge_flag
        else:
            agrees = gap is not None and gap < SCORE_GAP
        case_id = str(_field(row, "case_id", ""))
        by_case[case_id].append(agrees)
        if not agrees:
            disagree.append(
                {
                    "case_id": case_id,
                    "epoch": int(_field(row, "epoch", 0) or 0),
                    OFFLINE[0]: offline_score,
                    JUDGE[0]: judge_score,
                    OFFLINE[1]: offline_flag if isinstance(offline_flag, bool) else None,
                    JUDGE[1]: judge_flag if isinstance(judge_flag, bool) else None,
                    "gap": None if gap is None else round(gap, 4),
                }
            )
    if not by_case:
        return {}
    n_rows = sum(len(v) for v in by_case.values())
    disagree.sort(key=lambda d: (-(d["gap"] or 0.0), d["case_id"], d["epoch"]))
    return {
        "offline": OFFLINE[0],
        "judge": JUDGE[0],
        "n_rows": n_rows,
        "n_cases": len(by_case),
        "agreement": sum(sum(v) / len(v) for v in by_case.values()) / len(by_case),
        "table": table,
        "kappa": cohen_kappa(table),
        "mean_abs_diff": sum(gaps) / len(gaps) if gaps else None,
        "n_disagree": len(disagree),
        "disagreements": disagree[:limit],
    }


def _cell(offline: bool, judge: bool) -> str:
    if offline:
        return "both" if judge else "offline_only"
    return "judge_only" if judge else "neither"


def cohen_kappa(table: Mapping[str, int]) -> float | None:
    """Cohen's kappa of two yes/no raters from their 2 × 2 table; None when undefined."""
    both, off, jud, neither = (table[k] for k in ("both", "offline_only", "judge_only", "neither"))
    n = both + off + jud + neither
    if n == 0:
        return None
    observed = (both + neither) / n
    offline_yes = (both + off) / n
    judge_yes = (both + jud) / n
    expected = offline_yes * judge_yes + (1 - offline_yes) * (1 - judge_yes)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)
