"""Claim splitting with offsets, citations, and which claims are checkable."""

from __future__ import annotations

import pytest

from cujeval.grounding.claims import (
    Claim,
    cited_passages,
    is_checkable,
    split_claims,
    split_sentences,
)


def test_offsets_point_at_the_claim_text() -> None:
    answer = "DNA is a molecule. It stores genes!\n\n1. Adenine pairs with thymine.\n- Sugar too."
    claims = split_claims(answer)
    assert [c.text for c in claims] == [
        "DNA is a molecule.",
        "It stores genes!",
        "Adenine pairs with thymine.",
        "Sugar too.",
    ]
    for claim in claims:
        assert answer[claim.start : claim.end] == claim.text


def test_abbreviations_decimals_and_initials_do_not_split() -> None:
    text = "Use e.g. salt at 3.5 g per litre. J. K. Rowling wrote it at 5 p.m. Done."
    assert [c.text for c in split_sentences(text)] == [
        "Use e.g. salt at 3.5 g per litre.",
        "J. K. Rowling wrote it at 5 p.m. Done.",
    ]


def test_glued_sentences_in_scraped_passages_split() -> None:
    text = "It replicates itself.Nearly every cell has DNA."
    assert [c.text for c in split_sentences(text)] == [
        "It replicates itself.",
        "Nearly every cell has DNA.",
    ]


def test_bare_citation_joins_previous_sentence_and_list_item_cites_carry() -> None:
    answer = "1. Burn the flag. Fold it first. (Passage 2)\nWater helps [3]. Salt too."
    claims = split_claims(answer)
    assert [c.text for c in claims] == [
        "Burn the flag.",
        "Fold it first. (Passage 2)",
        "Water helps [3].",
        "Salt too.",
    ]
    assert [c.cites for c in claims] == [
        frozenset({1}),
        frozenset({1}),
        frozenset({2}),
        frozenset(),
    ]
    assert claims[1].body.strip() == "Fold it first. ()"


def test_cited_passages() -> None:
    assert cited_passages("Constipation (passage 2 & 3)") == {1, 2}
    assert cited_passages("based on passages 1, 2, and 3") == {0, 1, 2}
    assert cited_passages("no citation here") == frozenset()


@pytest.mark.parametrize(
    "sentence",
    [
        "I'm sorry, but I cannot answer that.",
        "Based on the provided passages, here is how to fold a quilt:",
        "The passages do not provide information about the price.",
        "The steps are as follows:",
        "Good luck!",
    ],
)
def test_hedges_and_headers_are_not_checkable(sentence: str) -> None:
    assert not is_checkable(Claim(sentence, 0, len(sentence)), "how to fold a quilt")


def test_restating_the_question_is_not_checkable_but_new_words_are() -> None:
    question = "what is the drawer at the bottom of an oven for"
    restated = Claim("The drawer at the bottom of an oven.", 0, 36)
    answered = Claim("The drawer at the bottom of an oven keeps food warm.", 0, 52)
    assert not is_checkable(restated, question)
    assert is_checkable(answered, question)


def test_restating_a_yes_no_question_is_an_answer_and_numbers_are_checkable() -> None:
    claim = Claim("Reagan and Skeletons were both documentaries.", 0, 45)
    assert is_checkable(claim, "Were Reagan and Skeletons both documentaries?")
    assert is_checkable(Claim("16", 0, 2), "How many members does the band have?")
