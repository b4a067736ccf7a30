"""Conformance with the official IFEval checker on GPT-4's 270 dev responses.

Our strict and loose verdicts must each agree with the official ones on >= 99.5 % of the 412
instructions. The one known disagreement: key 1129 asks for the letter "!", which the
released upstream checker replaces by a random a-z letter; we count "!".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cujeval.errors import DatasetError
from cujeval.scorers.instructions.conformance import (
    Conformance,
    ScoredRow,
    compare,
    load_scored,
)
from cujeval.spec.records import Instruction

KNOWN = {(1129, "keywords:letter_frequency")}


def _report(result: Conformance) -> str:
    return "\n".join(
        f"{d.key} {d.id} {d.kwargs} ours={d.ours} official={d.official}: {d.cause}"
        for d in result.disagreements
    )


def test_agreement_with_official_verdicts(dev_path: Path) -> None:
    result = compare(load_scored(dev_path))
    print(_report(result))
    assert (result.prompts, result.instructions) == (270, 412)
    assert result.strict_agreement >= 0.995, _report(result)
    assert result.loose_agreement >= 0.995, _report(result)
    assert {(d.key, d.id) for d in result.disagreements} <= KNOWN, _report(result)
    assert all(d.cause != "unexplained" for d in result.disagreements)
    assert result.ours["strict"] == result.official["strict"]


def test_bundled_copy_is_complete() -> None:
    bundled = Path(__file__).parents[2] / "data" / "ifeval_gpt4_responses_dev.jsonl"
    rows = load_scored(bundled)
    assert len(rows) == 270
    assert sum(len(r.instructions) for r in rows) == 412


def test_malformed_results_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text('{"key": 1, "prompt": "p"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"results\.jsonl:1: missing instruction_id_list"):
        load_scored(path)


def test_unknown_disagreements_are_reported_as_unexplained() -> None:
    row = ScoredRow(
        key=7,
        prompt="p",
        instructions=(Instruction(id="punctuation:no_comma"),),
        response="no commas here",
        strict=(False,),
        loose=(False,),
    )
    result = compare([row])
    assert result.strict_agreement == 0.0
    assert [(d.key, d.ours, d.official, d.cause) for d in result.disagreements] == [
        (7, (True, True), (False, False), "unexplained")
    ]
