"""Strict and loose verdicts: IFEval's loose variants, blank responses, canonical ids."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cujeval.errors import UnknownNameError
from cujeval.scorers.instructions import Verdict, follow
from cujeval.spec.records import Instruction

VerdictOf = Callable[..., Verdict]


def test_loose_drops_a_chatty_first_line(verdict: VerdictOf) -> None:
    text = 'Sure, here you go:\n"Just the quote."'
    result = verdict("startend:quotation", text)
    assert (result.strict, result.loose) == (False, True)


def test_loose_drops_a_trailing_line(verdict: VerdictOf) -> None:
    text = "the whole reply is lowercase.\nHope This Helps"
    result = verdict("change_case:english_lowercase", text)
    assert (result.strict, result.loose) == (False, True)


def test_loose_removes_asterisks(verdict: VerdictOf) -> None:
    text = "**Title**\n\nReply is here and ends with the phrase. **Any other questions?**"
    result = verdict("startend:end_checker", text, end_phrase="Any other questions?")
    assert (result.strict, result.loose) == (False, True)


def test_loose_cannot_rescue_a_real_failure(verdict: VerdictOf) -> None:
    result = verdict("punctuation:no_comma", "a, b\nc, d\ne, f")
    assert (result.strict, result.loose) == (False, False)


def test_blank_response_fails_even_vacuous_checks(verdict: VerdictOf) -> None:
    result = verdict("punctuation:no_comma", "  \n ")
    assert (result.strict, result.loose) == (False, False)


def test_follow_keeps_order_and_reports_canonical_ids() -> None:
    verdicts = follow(
        [Instruction(id="punctuation:no_comma"), Instruction(id="cites_sources")], "no citation"
    )
    assert [v.id for v in verdicts] == ["punctuation:no_comma", "product:cites_sources"]
    assert [v.strict for v in verdicts] == [True, False]


def test_follow_rejects_unknown_ids() -> None:
    with pytest.raises(UnknownNameError):
        follow([Instruction(id="nope:nothing")], "text")
