"""Typed keyword arguments of an instruction: how each is parsed, and what is wrong with it.

A :class:`Param` names one kwarg and a parser that returns its value or raises ``ValueError``
with a short reason ("expected an integer >= 0, got 'ten'"); the registry turns that into an
InputError naming the instruction and the kwarg.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Parser = Callable[[Any], Any]

RELATIONS = ("less than", "at least")
_MISSING: Any = object()


@dataclass(frozen=True)
class Param:
    """One kwarg: its name, its parser, and its default (absent means required)."""

    name: str
    parse: Parser
    default: Any = _MISSING

    @property
    def required(self) -> bool:
        return self.default is _MISSING


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def integer(*, minimum: int = 0) -> Parser:
    """An int (not a bool) no smaller than ``minimum``."""

    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"expected an integer >= {minimum}, got {_show(value)}")
        return value

    return parse


def boolean() -> Parser:
    """true or false."""

    def parse(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {_show(value)}")
        return value

    return parse


def text(*, choices: tuple[str, ...] = (), strip: bool = False) -> Parser:
    """A non-blank string, optionally one of ``choices``; stripped if ``strip``."""

    def parse(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"expected a non-empty string, got {_show(value)}")
        if choices and value not in choices:
            options = ", ".join(repr(c) for c in choices)
            raise ValueError(f"expected one of {options}, got {_show(value)}")
        return value.strip() if strip else value

    return parse


def relation() -> Parser:
    """IFEval's comparison: ``"less than"`` (count < n) or ``"at least"`` (count >= n)."""
    return text(choices=RELATIONS)


def character() -> Parser:
    """Exactly one non-space character."""

    def parse(value: Any) -> str:
        if not isinstance(value, str) or len(value) != 1 or value.isspace():
            raise ValueError(f"expected a single character, got {_show(value)}")
        return value

    return parse


def pattern(*, strip: bool = False) -> Parser:
    """A string used as a regular expression: it must compile."""
    as_text = text(strip=strip)

    def parse(value: Any) -> str:
        source: str = as_text(value)
        try:
            re.compile(source)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc}): {_show(value)}") from None
        return source

    return parse


def texts(*, item: Parser | None = None) -> Parser:
    """A non-empty list of strings, each parsed by ``item`` (default: non-blank string)."""
    each = item or text()

    def parse(value: Any) -> list[str]:
        if not isinstance(value, list | tuple) or not value:
            raise ValueError(f"expected a non-empty list of strings, got {_show(value)}")
        return [each(v) for v in value]

    return parse


def choices_list(options: tuple[str, ...]) -> Parser:
    """A non-empty list whose items are all among ``options``."""
    return texts(item=text(choices=options))


def json_schema() -> Parser:
    """A JSON Schema (an object), checked against its own metaschema."""

    def parse(value: Any) -> dict[str, Any]:
        from jsonschema.exceptions import SchemaError
        from jsonschema.validators import validator_for

        if not isinstance(value, dict):
            raise ValueError(f"expected a JSON Schema object, got {_show(value)}")
        try:
            validator_for(value).check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return value

    return parse


def language(*, extra: tuple[str, ...] = ()) -> Parser:
    """A language code langdetect knows (``en``, ``de``, ``zh-cn``...), or one of ``extra``."""

    def parse(value: Any) -> str:
        from cujeval.scorers.instructions.langid import supported_languages

        known = supported_languages()
        if not isinstance(value, str) or (value not in known and value not in extra):
            codes = ", ".join(sorted(known | set(extra)))
            raise ValueError(f"expected a language code ({codes}), got {_show(value)}")
        return value

    return parse
