"""agreement(): offline faithfulness against the LLM judge, on rows worked by hand."""

from __future__ import annotations

from typing import Any

import pytest

from cujeval.scorers.judges.agreement import agreement, cohen_kappa
from cujeval.spec.journal import JournalRow


def row(
    case: str,
    offline: float | None,
    judge: float | None,
    flags: tuple[bool | None, bool | None] = (None, None),
    epoch: int = 0,
) -> dict[str, Any]:
    scores: dict[str, Any] = {}
    for sli, value in (
        ("faithfulness", offline),
        ("llm_faithfulness", judge),
        ("hallucination", flags[0]),
        ("llm_hallucination", flags[1]),
    ):
        scores[sli] = {"value": value}
    return {"journey": "j", "case_id": case, "epoch": epoch, "scores": scores}


def test_kappa_of_a_worked_table() -> None:
    # n = 50, observed 0.7, chance 0.5 * 0.6 + 0.5 * 0.4 = 0.5: kappa (0.7 - 0.5) / 0.5
    table = {"both": 20, "offline_only": 5, "judge_only": 10, "neither": 15}
    assert cohen_kappa(table) == pytest.approx(0.4)
    assert cohen_kappa({"both": 0, "offline_only": 0, "judge_only": 0, "neither": 4}) is None
    assert cohen_kappa({"both": 0, "offline_only": 0, "judge_only": 0, "neither": 0}) is None


def test_verdicts_decide_and_the_gap_orders_the_disagreements() -> None:
    rows = [
        row("a", 1.0, 1.0, (False, False)),
        row("b", 0.2, 1.0, (True, False)),  # offline flags, judge does not: gap 0.8
        row("c", 0.9, 0.5, (False, True)),  # judge flags: gap 0.4
        row("d", 0.0, 0.0, (True, True)),
        row("e", None, 0.5, (None, True)),  # offline did not score: not compared
    ]
    out = agreement(rows)
    assert (out["n_rows"], out["n_cases"], out["n_disagree"]) == (4, 4, 2)
    assert out["agreement"] == pytest.approx(0.5)
    assert out["table"] == {"both": 1, "offline_only": 1, "judge_only": 1, "neither": 1}
    assert out["kappa"] == pytest.approx(0.0)
    assert out["mean_abs_diff"] == pytest.approx((0 + 0.8 + 0.4 + 0) / 4)
    assert [d["case_id"] for d in out["disagreements"]] == ["b", "c"]
    assert out["disagreements"][0] == {
        "case_id": "b",
        "epoch": 0,
        "faithfulness": 0.2,
        "llm_faithfulness": 1.0,
        "hallucination": True,
        "llm_hallucination": False,
        "gap": 0.8,
    }


def test_epochs_are_rows_of_one_case() -> None:
    rows = [
        row("a", 1.0, 1.0, (False, False), epoch=0),
        row("a", 1.0, 0.5, (False, True), epoch=1),
        row("b", 1.0, 1.0, (False, False)),
    ]
    out = agreement(rows)
    assert (out["n_rows"], out["n_cases"]) == (3, 2)
    assert out["agreement"] == pytest.approx((0.5 + 1.0) / 2)  # case a agrees in 1 of 2
    assert out["disagreements"][0]["epoch"] == 1


def test_scores_alone_disagree_from_a_gap_of_half() -> None:
    out = agreement([row("a", 0.9, 0.3), row("b", 0.9, 0.6)])
    assert out["n_disagree"] == 1 and out["disagreements"][0]["case_id"] == "a"
    assert out["kappa"] is None  # no verdicts, no table


def test_journal_rows_and_nothing_to_compare() -> None:
    rows = [JournalRow.model_validate(row("a", 0.5, 0.5, (True, True)))]
    assert agreement(rows)["n_cases"] == 1
    assert agreement([row("a", 0.5, None)]) == {}
    assert agreement([]) == {}


def test_the_table_is_capped() -> None:
    rows = [row(f"c{i}", 0.0, 1.0, (True, False)) for i in range(30)]
    out = agreement(rows, limit=5)
    assert out["n_disagree"] == 30 and len(out["disagreements"]) == 5
