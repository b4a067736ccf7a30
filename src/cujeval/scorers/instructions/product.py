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
from cujeval.scorers.instructions.ifeval_language import is_in_language
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
from cujeval.scorers.instructions.registry import Exchange, instruction
from cujeval.scorers.instructions.text import count_sentences, count_words

AUTO = "auto"


@instruction("product:json", Param("schema", json_schema(), default=None))
def valid_json(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """The text, without a surrounding code fence, parses as JSON and, when a ``schema`` is
    given, validates against it (JSON Schema, the draft its ``$schema`` names)."""
    try:
        document = json.loads(strip_json_fence(text))
    except ValueError:
        return False
    schema = kw["schema"]
    if schema is None:
        return True
    from jsonschema.validators import validator_for

    return bool(validator_for(schema)(schema).is_valid(document))


@instruction(
    "product:regex",
    Param("pattern", pattern()),
    Param("must_match", boolean(), default=True),
)
def regex(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """``pattern`` is found in the text (``re.search``) if ``must_match``, else it is not."""
    found = re.search(kw["pattern"], text) is not None
    must_match: bool = kw["must_match"]
    return found == must_match


@instruction("product:max_words", Param("max_words", integer()))
def max_words(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """Word count (runs of ``\\w``) <= ``max_words``."""
    limit: int = kw["max_words"]
    return count_words(text) <= limit


@instruction("product:max_sentences", Param("max_sentences", integer()), heavy=True)
def max_sentences(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """Sentence count (English Punkt) <= ``max_sentences``."""
    limit: int = kw["max_sentences"]
    return count_sentences(text) <= limit


@instruction("product:max_chars", Param("max_chars", integer()))
def max_chars(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """Characters of the stripped text <= ``max_chars``."""
    limit: int = kw["max_chars"]
    return len(text.strip()) <= limit


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


@instruction(
    "product:required_phrases",
    Param("phrases", texts()),
    Param("case_sensitive", boolean(), default=False),
)
def required_phrases(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """Every phrase occurs in the text."""
    return len(found_phrases(text, kw["phrases"], kw["case_sensitive"])) == len(kw["phrases"])


@instruction(
    "product:forbidden_phrases",
    Param("phrases", texts()),
    Param("case_sensitive", boolean(), default=False),
)
def forbidden_phrases(text: str, kw: Mapping[str, Any], _: Exchange) -> bool:
    """No phrase occurs in the text."""
    return not found_phrases(text, kw["phrases"], kw["case_sensitive"])


@instruction("product:language", Param("language", language(extra=(AUTO,))), heavy=True)
def response_language(text: str, kw: Mapping[str, Any], exchange: Exchange) -> bool:
    """The text's detected language is ``language``; ``"auto"`` means the language of the
    user's prompt. Text (or a prompt) with nothing to detect passes, as in IFEval."""
    code = kw["language"]
    if code == AUTO:
        code = detect_language(exchange.prompt)
        if code is None:
            return True
    return is_in_language(text, code)
