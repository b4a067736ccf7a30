"""Product constraints (``product:*``): valid JSON, a regular expression, length caps,
required and forbidden phrases, the response language.

Phrases match case-insensitively by default and on word boundaries where the phrase starts or
ends with a word character, so ``"ass"`` is not found in ``"class"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from cujeval.scorers.instructions.ifeval_format import strip_json_fence
from cujeval.scorers.instructions.langid import detect_language
from cujeval.scorers.instructions.params import (
    Param,
    boolean,
    integer,
    json_schema,
    language,
    pattern,
    texts,
)
from cujeval.scorers.instructions.registry import Exchange, Outcome, instruction
from cujeval.scorers.instructions.text import count_sentences, count_words

AUTO = "auto"
SHOWN = 80  # characters of a match or an error quoted in a finding


def _quote(text: str, limit: int = SHOWN) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


@instruction("product:json", Param("schema", json_schema(), default=None))
def valid_json(text: str, kw: Mapping[str, Any], _: Exchange) -> Outcome:
    """The text, without a surrounding code fence, parses as JSON and, when a ``schema`` is
    given, validates against it (JSON Schema, the draft its ``$schema`` names)."""
    try:
        document = json.loads(strip_json_fence(text))
    except ValueError as exc:
        return Outcome(False, f"not JSON: {str(exc)[:SHOWN]}")
    schema = kw["schema"]
    if schema is None:
        return Outcome(True)
    from jsonschema.validators import validator_for

    error = next(iter(validator_for(schema)(schema).iter_errors(document)), None)
    if error is None:
        return Outcome(True)
    at = "/".join(str(p) for p in error.absolute_path) or "the document"
    return Outcome(False, f"schema: at {at}: {error.message[:SHOWN]}")


@instruction(
    "product:regex",
    Param("pattern", pattern()),
    Param("must_match", boolean(), default=True),
)
def regex(text: str, kw: Mapping[str, Any], _: Exchange) -> Outcome:
    """``pattern`` is found in the text (``re.search``) if ``must_match``, else it is not."""
    match = re.search(kw["pattern"], text)
    must_match: bool = kw["must_match"]
    if match is None:
        return Outcome(not must_match, "no match")
    return Outcome(must_match, f"matched {_quote(match.group())}")


@instruction("product:max_words", Param("max_words", integer()))
def max_words(text: str, kw: Mapping[str, Any], _: Exchange) -> Outcome:
    """Word count (runs of ``\\w``) <= ``max_words``."""
    limit: int = kw["max_words"]
    n = count_words(text)
    return Outcome(n <= limit, f"{n} words")


@instruction("product:max_sentences", Param("max_sentences", integer()), heavy=True)
def max_sentences(text: str, kw: Mapping[str, Any], _: Exchange) -> Outcome:
    """Sentence count (English Punkt) <= ``max_sentences``."""
    limit: int = kw["max_sentences"]
    n = count_sentences(text)
    return Outcome(n <= limit, f"{n} sentences")


@instruction("product:max_chars", Param("max_chars", integer()))
def max_chars(text: str, kw: Mapping[str, Any], _: Exchange) -> Outcome:
    """Characters of the stripped text <= ``max_chars``."""
    limit: int = kw["max_chars"]
    n = len(text.strip())
    return Outcome(n <= limit, f"{n} characters")


def _phrase_regex(phrase: str, case_sensitive: bool) -> re.Pattern[str]:
    """``phrase`` as a literal, bounded by ``(?<!\\w)`` / ``(?!\\w)`` at word-character ends."""
    body = re.escape(phrase)
    if re.match(r"\w", phrase):
        body = r"(?<!\w)" + body
    if re.search(r"\w$", phrase):
        body += r"(?!\w)"
    return re.compile(body, flags=0 if case_sensitive else re.IGNORECASE)


def found_phrases(text: str, phrases: list[str], case_sensitive: bool) -> list[str]:
    """The phrases that occur in ``text``, in the order given."""
    return [p for p in phrases if _phrase_regex(p, case_sensitive).search(text)]


def _phrase_matches(text: str, phrases: list[str], case_sensitive: bool) -> list[str]:
    """The first occurrence of each phrase found, as written in ``text``."""
    out = []
    for phrase in phrases:
        match = _phrase_regex(phrase, case_sensitive).search(text)
        if match is not None:
            out.append(match.group())
    return out


@instruction(
    "product:required_phrases",
    Param("phrases", texts()),
    Param("case_sensitive", boolean(), default=False),
)
def required_phrases(text: str, kw: Mapping[str, Any], _: Exchange) -> Outcome:
    """Every phrase occurs in the text."""
    found = found_phrases(text, kw["phrases"], kw["case_sensitive"])
    missing = [p for p in kw["phrases"] if p not in found]
    return Outcome(not missing, "missing " + ", ".join(_quote(p) for p in missing))


@instruction(
    "product:forbidden_phrases",
    Param("phrases", texts()),
    Param("case_sensitive", boolean(), default=False),
)
def forbidden_phrases(text: str, kw: Mapping[str, Any], _: Exchange) -> Outcome:
    """No phrase occurs in the text."""
    found = _phrase_matches(text, kw["phrases"], kw["case_sensitive"])
    return Outcome(not found, "found " + ", ".join(_quote(m) for m in found))


@instruction("product:language", Param("language", language(extra=(AUTO,))), heavy=True)
def response_language(text: str, kw: Mapping[str, Any], exchange: Exchange) -> Outcome:
    """The text's detected language is ``language``; ``"auto"`` means the language of the
    user's prompt. Text (or a prompt) with nothing to detect passes, as in IFEval."""
    code = kw["language"]
    if code == AUTO:
        code = detect_language(exchange.prompt)
        if code is None:
            return Outcome(True, "the prompt's language could not be detected")
    detected = detect_language(text)  # as is_in_language decides: nothing to place passes
    return Outcome(detected is None or detected == code, f"detected {detected}, expected {code}")
