"""product:* constraints: JSON (with schema), regex, length caps, phrases, language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cujeval.spec.records import Observation

Passes = Callable[..., bool]

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city", "days"],
}


def test_json_without_schema(passes: Passes) -> None:
    assert passes("product:json", '```json\n{"ok": true}\n```')
    assert not passes("product:json", "{'ok': True}")


def test_json_with_schema(passes: Passes) -> None:
    assert passes("product:json", '{"city": "Oslo", "days": 3}', schema=SCHEMA)
    assert not passes("product:json", '{"city": "Oslo", "days": 0}', schema=SCHEMA)
    assert not passes("product:json", '{"city": "Oslo"}', schema=SCHEMA)


def test_regex_must_match_or_not(passes: Passes) -> None:
    assert passes("product:regex", "Order #A-1234 shipped", pattern=r"#[A-Z]-\d{4}")
    assert not passes("product:regex", "Order shipped", pattern=r"#[A-Z]-\d{4}")
    assert passes("product:regex", "All good", pattern=r"(?i)\bsorry\b", must_match=False)
    assert not passes("product:regex", "Sorry, no.", pattern=r"(?i)\bsorry\b", must_match=False)


def test_length_caps_are_inclusive(passes: Passes) -> None:
    assert passes("product:max_words", "one two three", max_words=3)
    assert not passes("product:max_words", "one two three four", max_words=3)
    assert passes("product:max_sentences", "One. Two.", max_sentences=2)
    assert not passes("product:max_sentences", "One. Two. Three.", max_sentences=2)
    assert passes("product:max_chars", "  abcde \n", max_chars=5)
    assert not passes("product:max_chars", "abcdef", max_chars=5)


def test_required_phrases_case_and_boundaries(passes: Passes) -> None:
    text = "Please contact Support via the portal."
    assert passes("product:required_phrases", text, phrases=["contact support", "portal"])
    assert not passes("product:required_phrases", text, phrases=["port"])
    assert not passes(
        "product:required_phrases", text, phrases=["contact support"], case_sensitive=True
    )


def test_forbidden_phrases(passes: Passes) -> None:
    text = "As an AI language model, I cannot."
    assert not passes("product:forbidden_phrases", text, phrases=["as an ai"])
    assert passes("product:forbidden_phrases", "A classic.", phrases=["ass"])
    assert passes("product:forbidden_phrases", text, phrases=["as an ai"], case_sensitive=True)


def test_forbidden_phrase_with_punctuation_edges(passes: Passes) -> None:
    assert not passes("product:forbidden_phrases", "Price: $100!", phrases=["$100"])


def test_language_fixed_and_auto(passes: Passes) -> None:
    french = "Bonjour, je voudrais réserver une table pour deux personnes ce soir, s'il vous plaît."
    english = "Hello, I would like to book a table for two people tonight, please."
    assert passes("product:language", french, language="fr")
    assert not passes("product:language", english, language="fr")
    prompt = "Pouvez-vous me dire à quelle heure ouvre le musée demain matin ?"
    assert passes("product:language", french, language="auto", prompt=prompt)
    assert not passes("product:language", english, language="auto", prompt=prompt)


def test_a_failing_check_says_what_it_found(verdict: Callable[..., Any]) -> None:
    """What each product check saw, for the reports: the missing phrase, the forbidden match
    as written, the count over the cap, the parse or schema error, the detected language."""
    text = "We GUARANTEE delivery. Write to jo.doe@example.com [4]."
    found = {
        "product:required_phrases": verdict(
            "product:required_phrases", text, phrases=["delivery", "refund", "sorry"]
        ),
        "product:forbidden_phrases": verdict(
            "product:forbidden_phrases", text, phrases=["guarantee", "free"]
        ),
        "product:max_words": verdict("product:max_words", text, max_words=3),
        "product:max_chars": verdict("product:max_chars", text, max_chars=10),
        "product:regex": verdict("product:regex", text, pattern=r"#\d+"),
        "product:regex!": verdict(
            "product:regex", text, pattern=r"(?i)guarantee", must_match=False
        ),
        "product:json": verdict("product:json", text),
        "product:json schema": verdict("product:json", '{"city": 3}', schema=SCHEMA),
        "product:no_pii": verdict("product:no_pii", text),
        "product:cites_sources": verdict(
            "product:cites_sources", text, obs=Observation(answer=text, contexts=[{"text": "x"}])
        ),
    }
    assert not any(v.strict for v in found.values())
    shown = {k: v.found for k, v in found.items()}
    assert shown == {
        "product:required_phrases": "missing 'refund', 'sorry'",
        "product:forbidden_phrases": "found 'GUARANTEE'",
        "product:max_words": "10 words",
        "product:max_chars": "55 characters",
        "product:regex": "no match",
        "product:regex!": "matched 'GUARANTEE'",
        "product:json": "not JSON: Expecting value: line 1 column 1 (char 0)",
        "product:json schema": "schema: at city: 3 is not of type 'string'",
        "product:no_pii": "found email jo…om",
        "product:cites_sources": "[4]: no such context (1 returned)",
    }
    assert found["product:max_words"].describe() == "product:max_words(max_words=3): 10 words"
    german = verdict("product:language", "This answer is written in English.", language="de")
    assert not german.strict and german.found == "detected en, expected de"
