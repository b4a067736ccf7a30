"""product:no_pii: e-mails, phone numbers, Luhn-valid card numbers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cujeval.scorers.instructions.product_pii import find_pii, luhn_valid

Passes = Callable[..., bool]


@pytest.mark.parametrize(
    "text",
    [
        "Write to jane.doe+shop@example.co.uk today.",
        "Call +44 20 7946 0958 now.",
        "Call (415) 555-0132.",
        "Call 415.555.0132.",
        "Card 4111 1111 1111 1111 on file.",
        "Card 5500-0000-0000-0004.",
    ],
)
def test_pii_is_found(passes: Passes, text: str) -> None:
    assert not passes("product:no_pii", text)


@pytest.mark.parametrize(
    "text",
    [
        "Delivered on 2024-03-15 for $1,299.99 in 2023.",
        "Order 4111 1111 1111 1112 is invalid.",
        "Ticket #123456 and ISBN 978-3-16-148410-0.",
        "The answer is 42, see section 3.2.1.",
    ],
)
def test_ordinary_numbers_are_not_pii(passes: Passes, text: str) -> None:
    assert passes("product:no_pii", text)


def test_kinds_limit_the_search(passes: Passes) -> None:
    text = "Mail me at a@b.io"
    assert passes("product:no_pii", text, kinds=["phone", "card"])
    assert not passes("product:no_pii", text, kinds=["email"])


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("4111-1111")


def test_find_pii_reports_kind_and_match() -> None:
    assert find_pii("x a@b.io y") == [("email", "a@b.io")]


def test_an_international_number_is_reported_once() -> None:
    assert find_pii("Call +1 (415) 555-0132 or 212-555-0199.") == [
        ("phone", "+1 (415) 555-0132"),
        ("phone", "212-555-0199"),
    ]
