"""startend:*, combination:*, punctuation:*, change_case:* and language:* on hand examples."""

from __future__ import annotations

from collections.abc import Callable

Passes = Callable[..., bool]


def test_end_checker_ignores_case_spaces_and_quotes(passes: Passes) -> None:
    text = '"All done. Is there anything else I can help with?"  \n'
    assert passes(
        "startend:end_checker", text, end_phrase="Is there anything else I can help with?"
    )
    assert not passes("startend:end_checker", text + "Bye.", end_phrase="help with?")


def test_quotation(passes: Passes) -> None:
    assert passes("startend:quotation", '  "wrapped"\n')
    assert not passes("startend:quotation", '"')
    assert not passes("startend:quotation", '"open only')


def test_two_responses(passes: Passes) -> None:
    assert passes("combination:two_responses", "First answer.\n******\nSecond answer.")
    assert not passes("combination:two_responses", "Same.\n******\nSame.")
    assert not passes("combination:two_responses", "A\n******\n\n******\nB")
    assert not passes("combination:two_responses", "A\n******\nB\n******\nC")


def test_repeat_prompt(passes: Passes) -> None:
    prompt = "Write a haiku about rain."
    assert passes(
        "combination:repeat_prompt", "write a HAIKU about rain.\nDrops...", prompt_to_repeat=prompt
    )
    assert not passes(
        "combination:repeat_prompt", "Sure! Write a haiku about rain.", prompt_to_repeat=prompt
    )


def test_no_comma(passes: Passes) -> None:
    assert passes("punctuation:no_comma", "No commas here. None at all.")
    assert not passes("punctuation:no_comma", "One, two")


def test_english_capital_and_lowercase(passes: Passes) -> None:
    upper = "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG AND RUNS INTO THE FOREST."
    assert passes("change_case:english_capital", upper)
    assert not passes("change_case:english_capital", upper.capitalize())
    assert passes("change_case:english_lowercase", upper.lower())
    assert not passes(
        "change_case:english_lowercase", "der schnelle braune fuchs springt über den faulen hund."
    )


def test_capital_word_frequency_uses_treebank_tokens(passes: Passes) -> None:
    text = "I DON'T like it. It is WELL-KNOWN."  # I, DO, N'T, WELL-KNOWN
    kw = {"capital_relation": "at least"}
    assert passes("change_case:capital_word_frequency", text, capital_frequency=4, **kw)
    assert not passes("change_case:capital_word_frequency", text, capital_frequency=5, **kw)


def test_response_language(passes: Passes) -> None:
    german = "Das Wetter ist heute schön und wir gehen am Nachmittag in den Park spazieren."
    assert passes("language:response_language", german, language="de")
    assert not passes("language:response_language", german, language="en")


def test_language_without_letters_passes_as_upstream(passes: Passes) -> None:
    assert passes("language:response_language", "12345 !!!", language="fr")
