"""Operational SLIs: latency, time to first token, errors."""

from __future__ import annotations

import asyncio

import pytest

from cujeval.scorers import base
from cujeval.scorers.base import Score
from cujeval.spec.records import GoldenCase, Observation

CASE = GoldenCase(id="c1", input="q")


def _score(name: str, obs: Observation) -> Score:
    out = asyncio.run(base.create(name)(CASE, obs))
    assert list(out) == [name]
    return out[name]


def test_latency_of_a_successful_call() -> None:
    assert _score("latency_s", Observation(answer="a", latency_s=0.25)).value == 0.25


def test_latency_of_a_failed_call_is_unscorable() -> None:
    score = _score("latency_s", Observation(status="timeout", error="read", latency_s=30.0))
    assert score.value is None
    assert "timeout" in score.explanation


def test_latency_missing_is_unscorable() -> None:
    assert _score("latency_s", Observation(answer="a")).value is None


def test_ttft_present_and_absent() -> None:
    assert _score("ttft_s", Observation(answer="a", latency_s=1.0, ttft_s=0.1)).value == 0.1
    absent = _score("ttft_s", Observation(answer="a", latency_s=1.0))
    assert absent.value is None
    assert "streamed" in absent.explanation


def test_error_false_on_success() -> None:
    score = _score("error", Observation(answer="a"))
    assert score.value is False
    assert score.metadata == {"status": "ok", "error": None}


@pytest.mark.parametrize("status", ["timeout", "http", "connect", "protocol"])
def test_error_true_with_status_and_message(status: str) -> None:
    score = _score("error", Observation(status=status, error="HTTP 503 from /answer"))
    assert score.value is True
    assert score.metadata == {"status": status, "error": "HTTP 503 from /answer"}
    assert score.explanation == "HTTP 503 from /answer"


@pytest.mark.parametrize(
    ("reason", "cut", "filtered"),
    [("stop", False, False), ("length", True, False), ("content_filter", False, True)],
)
def test_finish_reason_slis(reason: str, cut: bool, filtered: bool) -> None:
    from cujeval.spec.records import GoldenCase, Observation

    scorer = base.create("finish_reason")
    case = GoldenCase(id="1", input="q")
    scores = asyncio.run(scorer(case, Observation(answer="a", finish_reason=reason)))
    assert (scores["cut_off"].value, scores["content_filtered"].value) == (cut, filtered)
    missing = asyncio.run(scorer(case, Observation(answer="a")))
    assert missing["cut_off"].value is None


def test_ttft_not_streamed_vs_nothing_streamed() -> None:
    from cujeval.spec.records import GoldenCase, Observation

    scorer = base.create("ttft_s")
    case = GoldenCase(id="1", input="q")
    plain = asyncio.run(scorer(case, Observation(answer="a")))["ttft_s"]
    silent = asyncio.run(scorer(case, Observation(answer="", streamed=True)))["ttft_s"]
    assert plain.explanation.endswith("not streamed")
    assert silent.explanation.endswith("no content was streamed")
