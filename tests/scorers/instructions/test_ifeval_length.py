"""length_constraints:* checks on hand examples."""

from __future__ import annotations

from collections.abc import Callable

Passes = Callable[..., bool]


def test_number_words(passes: Passes) -> None:
    text = "It's a well-known fact."  # It, s, a, well, known, fact: 6 words
    assert passes("length_constraints:number_words", text, num_words=6, relation="at least")
    assert not passes("length_constraints:number_words", text, num_words=7, relation="at least")
    assert passes("length_constraints:number_words", text, num_words=7, relation="less than")
    assert not passes("length_constraints:number_words", text, num_words=6, relation="less than")


def test_number_sentences(passes: Passes) -> None:
    text = "First one. Second one! Is this the third? Yes."
    assert passes("length_constraints:number_sentences", text, num_sentences=4, relation="at least")
    assert not passes(
        "length_constraints:number_sentences", text, num_sentences=4, relation="less than"
    )
    assert passes(
        "length_constraints:number_sentences", text, num_sentences=5, relation="less than"
    )


def test_number_paragraphs_split_on_markdown_divider(passes: Passes) -> None:
    text = "First paragraph.\n***\nSecond paragraph.\n***\nThird."
    assert passes("length_constraints:number_paragraphs", text, num_paragraphs=3)
    assert not passes("length_constraints:number_paragraphs", text, num_paragraphs=2)


def test_number_paragraphs_ignores_outer_blank_pieces_only(passes: Passes) -> None:
    assert passes(
        "length_constraints:number_paragraphs", "***\nOne.\n***\nTwo.\n***", num_paragraphs=2
    )
    assert not passes(
        "length_constraints:number_paragraphs", "One.\n***\n***\nTwo.", num_paragraphs=2
    )


def test_nth_paragraph_first_word(passes: Passes) -> None:
    text = 'Intro here.\n\n"Summer, said she.\n\nEnd.'
    kw = {"num_paragraphs": 3, "nth_paragraph": 2}
    assert passes("length_constraints:nth_paragraph_first_word", text, first_word="summer", **kw)
    assert passes("length_constraints:nth_paragraph_first_word", text, first_word="Summer", **kw)
    assert not passes("length_constraints:nth_paragraph_first_word", text, first_word="intro", **kw)


def test_nth_paragraph_first_word_needs_the_paragraph_count(passes: Passes) -> None:
    text = "Summer is here.\n\nEnd."
    assert not passes(
        "length_constraints:nth_paragraph_first_word",
        text,
        num_paragraphs=3,
        nth_paragraph=1,
        first_word="summer",
    )
    assert passes(
        "length_constraints:nth_paragraph_first_word",
        text,
        num_paragraphs=2,
        nth_paragraph=1,
        first_word="summer",
    )
