"""Cost per inference: suite prices, genai-prices' bundled table, and what cannot be priced."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage as GPUsage
from genai_prices import calc_price, data_snapshot

from cujeval.errors import InputError
from cujeval.records import GoldenCase, Observation, Usage
from cujeval.scorers import base
from cujeval.scorers.base import Score
from cujeval.scorers.cost import price_table_info, usage_cost

DATA = json.loads((Path(__file__).parents[1] / "data" / "cost_calls.json").read_text())
AT = datetime(2026, 11, 20, 12, tzinfo=UTC)
CASE = GoldenCase(id="c1", input="q")
GP_VERSION = version("genai-prices")


@pytest.mark.parametrize("call", DATA["calls"], ids=lambda c: f"{c['model']}-{c['prompt_tokens']}")
def test_suite_prices(call: dict[str, Any]) -> None:
    priced = usage_cost(
        call["model"], call["prompt_tokens"], call["completion_tokens"], prices=DATA["prices"]
    )
    assert priced is not None
    usd, meta = priced
    assert usd == pytest.approx(call["usd"], rel=1e-12, abs=1e-15)
    assert meta["source"] == "suite"
    assert meta["prompt_tokens"] == call["prompt_tokens"]
    assert meta["completion_tokens"] == call["completion_tokens"]


@pytest.mark.parametrize(
    ("model", "provider"), [("gpt-4o-mini", None), ("gpt-4o", "openai"), ("gpt-4o-mini", "azure")]
)
def test_genai_prices_agrees_with_its_public_api(model: str, provider: str | None) -> None:
    priced = usage_cost(model, 12_000, 800, provider=provider, at=AT)
    assert priced is not None
    usd, meta = priced
    expected = calc_price(
        GPUsage(input_tokens=12_000, output_tokens=800),
        model,
        provider_id=provider,
        genai_request_timestamp=AT,
    )
    assert usd == pytest.approx(float(expected.total_price), rel=1e-12)
    assert usd > 0
    assert meta["source"] == f"genai-prices {GP_VERSION}"
    assert meta["provider"] == expected.provider.id
    assert meta["date"] == price_table_info(AT)["date"]
    assert meta["input_usd"] + meta["output_usd"] == pytest.approx(usd)


def test_suite_price_overrides_genai_prices() -> None:
    priced = usage_cost("gpt-4o-mini", 1_000_000, 0, prices=DATA["prices"], at=AT)
    assert priced is not None
    assert priced[0] == pytest.approx(1.0)
    assert priced[1]["source"] == "suite"


@pytest.fixture
def empty_custom_snapshot() -> Iterator[None]:
    """What an auto-update (or another library) could install as genai-prices' snapshot."""
    data_snapshot.set_custom_snapshot(
        data_snapshot.DataSnapshot(providers=[], from_auto_update=True)
    )
    try:
        yield
    finally:
        data_snapshot.set_custom_snapshot(None)


@pytest.mark.usefixtures("empty_custom_snapshot")
def test_only_the_bundled_table_is_used() -> None:
    priced = usage_cost("gpt-4o-mini", 1000, 100, at=AT)
    assert priced is not None
    assert priced[1]["source"] == f"genai-prices {GP_VERSION}"


def test_unknown_model_or_provider_has_no_price() -> None:
    assert usage_cost("reference-extractive-1", 10, 10, at=AT) is None
    assert usage_cost("gpt-4o-mini", 10, 10, provider="no-such-provider", at=AT) is None


@pytest.mark.parametrize(("prompt", "completion"), [(-1, 0), (0, -5), (1.5, 0), (True, 0)])
def test_bad_token_counts(prompt: Any, completion: Any) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        usage_cost("gpt-4o-mini", prompt, completion)


def test_price_table_info() -> None:
    info = price_table_info(AT)
    assert info["source"] == "genai-prices"
    assert info["version"] == GP_VERSION
    assert info["priced_at"] == "2026-11-20"
    assert info["auto_update"] is False
    assert date.fromisoformat(info["date"]) <= date(2026, 11, 20)
    assert date.fromisoformat(price_table_info(datetime(2030, 1, 1, tzinfo=UTC))["date"]) >= (
        date.fromisoformat(info["date"])
    )
    assert json.loads(json.dumps(info)) == info


def _score(obs: Observation, **options: Any) -> Score:
    out = asyncio.run(base.create("cost_usd", options)(CASE, obs))
    assert list(out) == ["cost_usd"]
    return out["cost_usd"]


def test_scorer_with_suite_prices() -> None:
    obs = Observation(
        answer="a",
        model="reference-extractive-1",
        usage=Usage(prompt_tokens=1000, completion_tokens=500),
    )
    score = _score(obs, prices=DATA["prices"])
    assert score.value == pytest.approx(0.00045)
    assert score.metadata["source"] == "suite"
    assert score.metadata["prompt_tokens"] == 1000
    json.dumps(score.to_dict())


def test_scorer_with_genai_prices_and_provider_hint() -> None:
    obs = Observation(model="gpt-4o-mini", usage=Usage(prompt_tokens=1000, completion_tokens=100))
    score = _score(obs, provider="azure")
    assert isinstance(score.value, float) and score.value > 0
    assert score.metadata["provider"] == "azure"
    assert score.metadata["source"].startswith("genai-prices ")


def test_failed_call_with_usage_is_still_priced() -> None:
    obs = Observation(
        status="protocol", model="acme-large", usage=Usage(prompt_tokens=1000, completion_tokens=0)
    )
    assert _score(obs, prices=DATA["prices"]).value == pytest.approx(0.003)


@pytest.mark.parametrize(
    ("obs", "reason"),
    [
        (Observation(model="gpt-4o-mini"), "no token usage"),
        (Observation(usage=Usage(prompt_tokens=5)), "no model name"),
        (
            Observation(model="reference-extractive-1", usage=Usage(prompt_tokens=5)),
            "no price for model 'reference-extractive-1'",
        ),
    ],
)
def test_scorer_unscorable(obs: Observation, reason: str) -> None:
    score = _score(obs)
    assert score.value is None
    assert reason in score.explanation


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"m": {"input_per_mtok": 1.0}}, "exactly the keys"),
        ({"m": {"input_per_mtok": 1.0, "output_per_mtok": 2.0, "cached": 0.1}}, "exactly"),
        ({"m": {"input_per_mtok": -1.0, "output_per_mtok": 2.0}}, "must be >= 0"),
        ({"m": {"input_per_mtok": "cheap", "output_per_mtok": 2.0}}, "must be a number"),
        ({"m": 0.5}, "exactly the keys"),
    ],
)
def test_bad_suite_prices_are_input_errors(prices: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        base.create("cost_usd", {"prices": prices})
    with pytest.raises(ValueError, match=message):
        usage_cost("m", 1, 1, prices=prices)
