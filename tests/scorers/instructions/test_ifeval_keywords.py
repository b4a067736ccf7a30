"""keywords:* checks on hand examples."""

from __future__ import annotations

from collections.abc import Callable

Passes = Callable[..., bool]


def test_existence_needs_every_keyword_in_any_case(passes: Passes) -> None:
    text = "Our Banana bread uses ripe bananas."
    assert passes("keywords:existence", text, keywords=["banana", "bread"])
    assert not passes("keywords:existence", text, keywords=["banana", "flour"])


def test_existence_matches_inside_words_as_upstream(passes: Passes) -> None:
    assert passes("keywords:existence", "unbreakable", keywords=["break"])


def test_frequency_less_than_and_at_least(passes: Passes) -> None:
    text = "cat, Cat, CAT and a dog"
    assert passes("keywords:frequency", text, keyword="cat", frequency=3, relation="at least")
    assert not passes("keywords:frequency", text, keyword="cat", frequency=4, relation="at least")
    assert passes("keywords:frequency", text, keyword="dog", frequency=2, relation="less than")
    assert not passes("keywords:frequency", text, keyword="cat", frequency=3, relation="less than")


def test_frequency_strips_the_keyword(passes: Passes) -> None:
    assert passes("keywords:frequency", "a b a", keyword=" a ", frequency=2, relation="at least")


def test_forbidden_words_are_whole_words(passes: Passes) -> None:
    assert passes("keywords:forbidden_words", "A classic assessment.", forbidden_words=["ass"])
    assert not passes("keywords:forbidden_words", "Don't be an ASS.", forbidden_words=["ass"])
    assert not passes(
        "keywords:forbidden_words", "one two three", forbidden_words=["four", "three"]
    )


def test_letter_frequency_is_case_folded(passes: Passes) -> None:
    text = "Quiet queens quote Qatar"
    kw = {"letter": "q", "let_relation": "at least"}
    assert passes("keywords:letter_frequency", text, let_frequency=4, **kw)
    assert not passes("keywords:letter_frequency", text, let_frequency=5, **kw)
    assert passes(
        "keywords:letter_frequency", text, letter="Q", let_frequency=5, let_relation="less than"
    )


def test_letter_frequency_counts_punctuation_literally(passes: Passes) -> None:
    text = "Wow! Great! Yes!"
    assert passes(
        "keywords:letter_frequency", text, letter="!", let_frequency=3, let_relation="at least"
    )
    assert not passes(
        "keywords:letter_frequency", text, letter="!", let_frequency=4, let_relation="at least"
    )
