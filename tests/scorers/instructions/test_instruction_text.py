"""Text utilities: hand examples and hypothesis properties (never crash, counts consistent)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from cujeval.scorers.instructions.text import (
    count_sentences,
    count_words,
    loose_variants,
    split_sentences,
    word_tokens,
)

TEXT = st.text(
    alphabet=st.characters(codec="utf-8") | st.sampled_from(".!?*\n \"'"),
    max_size=300,
)


def test_count_words_examples() -> None:
    assert count_words("") == 0
    assert count_words("don't stop-now") == 4
    assert count_words("Grüße, 東京 2024!") == 3


def test_split_sentences_examples() -> None:
    assert split_sentences("Hello there. How are you? Fine!") == [
        "Hello there.",
        "How are you?",
        "Fine!",
    ]
    assert count_sentences("   \n ") == 0


def test_split_sentences_knows_english_abbreviations() -> None:
    text = "Dr. Smith met Mr. Jones at 5 p.m. in the U.S. capital. They talked."
    assert split_sentences(text) == [
        "Dr. Smith met Mr. Jones at 5 p.m. in the U.S. capital.",
        "They talked.",
    ]


def test_word_tokens_split_clitics_and_punctuation() -> None:
    assert word_tokens("I'M FINE. Don't go!") == ["I", "'M", "FINE", ".", "Do", "n't", "go", "!"]


def test_loose_variants_example() -> None:
    assert loose_variants("Sure:\n*a*\nbye") == (
        "Sure:\n*a*\nbye",
        "Sure:\na\nbye",
        "*a*\nbye",
        "Sure:\n*a*",
        "*a*",
        "a\nbye",
        "Sure:\na",
        "a",
    )


@settings(max_examples=200, deadline=None)
@given(TEXT, TEXT)
def test_words_add_up_across_a_space(a: str, b: str) -> None:
    assert count_words(a + " " + b) == count_words(a) + count_words(b)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_word_count_is_zero_exactly_without_word_characters(text: str) -> None:
    assert (count_words(text) == 0) == (re.search(r"\w", text) is None)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_sentences_cover_the_text_in_order(text: str) -> None:
    sentences = split_sentences(text)
    assert "".join("".join(sentences).split()) == "".join(text.split())
    assert (len(sentences) == 0) == (not text.strip())


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_word_tokens_have_no_whitespace(text: str) -> None:
    assert all(token and not any(c.isspace() for c in token) for token in word_tokens(text))


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_loose_variants_shape(text: str) -> None:
    variants = loose_variants(text)
    assert len(variants) == 8
    assert variants[0] == text
    assert all("*" not in v for v in (variants[1], *variants[5:]))
    assert all(set(v) <= set(text) for v in variants)
