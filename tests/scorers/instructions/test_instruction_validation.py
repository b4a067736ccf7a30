"""validate_instruction: unknown ids get suggestions; bad kwargs name the id and the kwarg."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cujeval.errors import InputError, UnknownNameError
from cujeval.scorers.instructions import known_ids, validate_instruction

SHARED_INPUTS = Path("/work/shared/data/ifeval/input_data.jsonl")

IFEVAL_IDS = {
    "change_case:capital_word_frequency",
    "change_case:english_capital",
    "change_case:english_lowercase",
    "combination:repeat_prompt",
    "combination:two_responses",
    "detectable_content:number_placeholders",
    "detectable_content:postscript",
    "detectable_format:constrained_response",
    "detectable_format:json_format",
    "detectable_format:multiple_sections",
    "detectable_format:number_bullet_lists",
    "detectable_format:number_highlighted_sections",
    "detectable_format:title",
    "keywords:existence",
    "keywords:forbidden_words",
    "keywords:frequency",
    "keywords:letter_frequency",
    "language:response_language",
    "length_constraints:nth_paragraph_first_word",
    "length_constraints:number_paragraphs",
    "length_constraints:number_sentences",
    "length_constraints:number_words",
    "punctuation:no_comma",
    "startend:end_checker",
    "startend:quotation",
}


def test_all_25_ifeval_ids_and_the_product_ones_are_registered() -> None:
    ids = set(known_ids())
    assert ids >= IFEVAL_IDS
    assert len(IFEVAL_IDS) == 25
    assert {"product:json", "product:cites_sources", "cites_sources", "product:no_pii"} <= ids


def test_unknown_id_suggests_close_ids() -> None:
    with pytest.raises(UnknownNameError) as info:
        validate_instruction("keywords:existance", {}, file="cases.jsonl", line=12)
    assert info.value.suggestions[0] == "keywords:existence"
    assert info.value.field == "instructions"
    assert str(info.value).startswith("cases.jsonl:12: field 'instructions': ")


@pytest.mark.parametrize(
    ("id", "kwargs", "fragment"),
    [
        (
            "length_constraints:number_words",
            {"relation": "at least"},
            "missing required kwarg 'num_words'",
        ),
        ("punctuation:no_comma", {"strict": True}, "unknown kwarg 'strict' (allowed: none)"),
        (
            "length_constraints:number_words",
            {"num_words": "100", "relation": "at least"},
            "kwarg 'num_words'",
        ),
        (
            "length_constraints:number_words",
            {"num_words": True, "relation": "at least"},
            "expected an integer",
        ),
        ("length_constraints:number_words", {"num_words": -1, "relation": "at least"}, ">= 0"),
        (
            "length_constraints:number_words",
            {"num_words": 5, "relation": "at most"},
            "kwarg 'relation'",
        ),
        ("keywords:existence", {"keywords": "word"}, "non-empty list"),
        ("keywords:existence", {"keywords": ["fine", "(unclosed"]}, "regular expression"),
        (
            "keywords:letter_frequency",
            {"letter": "ab", "let_frequency": 1, "let_relation": "at least"},
            "single character",
        ),
        ("language:response_language", {"language": "xx"}, "kwarg 'language'"),
        (
            "length_constraints:nth_paragraph_first_word",
            {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "so"},
            "must not exceed",
        ),
        ("product:json", {"schema": {"type": "nonsense"}}, "not a valid JSON Schema"),
        ("product:regex", {"pattern": "a", "must_match": "yes"}, "kwarg 'must_match'"),
        ("product:no_pii", {"kinds": ["email", "ssn"]}, "kwarg 'kinds'"),
    ],
)
def test_bad_kwargs_name_the_id_and_kwarg(id: str, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InputError) as info:
        validate_instruction(id, kwargs, file="cases.jsonl", line=3)
    message = str(info.value)
    assert f"instruction {id!r}" in message
    assert fragment in message
    assert message.startswith("cases.jsonl:3: field 'instructions': ")
    assert not isinstance(info.value, UnknownNameError)


def test_null_kwargs_count_as_absent() -> None:
    validate_instruction("punctuation:no_comma", {"num_words": None, "relation": None})
    validate_instruction("product:regex", {"pattern": "x", "must_match": None})
    with pytest.raises(InputError, match="missing required kwarg 'pattern'"):
        validate_instruction("product:regex", {"pattern": None})


def test_alias_validates_like_its_target() -> None:
    validate_instruction("cites_sources", {})
    with pytest.raises(InputError, match="unknown kwarg 'k'"):
        validate_instruction("cites_sources", {"k": 1})


def test_every_dev_row_validates(dev_path: Path) -> None:
    rows = [json.loads(line) for line in dev_path.read_text(encoding="utf-8").splitlines()]
    for number, row in enumerate(rows, start=1):
        for id, kwargs in zip(row["instruction_id_list"], row["kwargs"], strict=True):
            validate_instruction(id, kwargs, file=str(dev_path), line=number)
    assert len(rows) == 270


@pytest.mark.skipif(not SHARED_INPUTS.exists(), reason="shared IFEval input data not present")
def test_all_541_official_prompts_validate() -> None:
    rows = [json.loads(line) for line in SHARED_INPUTS.read_text(encoding="utf-8").splitlines()]
    for number, row in enumerate(rows, start=1):
        for id, kwargs in zip(row["instruction_id_list"], row["kwargs"], strict=True):
            validate_instruction(id, kwargs, file=str(SHARED_INPUTS), line=number)
    assert len(rows) == 541
