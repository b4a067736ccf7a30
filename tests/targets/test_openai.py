"""The openai target against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.hostile_server import Hostile
from tests.targets.calls import openai_call

from cujeval.errors import TargetProtocolError, TargetTooLarge, TargetTruncated
from cujeval.spec.records import GoldenCase, Observation
from cujeval.spec.targets import OpenAITargetSpec
from cujeval.targets import build_target


def call(base_url: str, **spec: Any) -> Observation:
    async def go() -> Observation:
        target = build_target(
            "t", OpenAITargetSpec(kind="openai", base_url=base_url, model="m1", **spec)
        )
        try:
            return await target.call(GoldenCase(id="1", input="hello there"))
        finally:
            await target.aclose()

    return asyncio.run(go())


def test_streamed_measures_ttft_usage_contexts(fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    obs = call(f"{url}/v1")
    assert obs.answer == "Answer to hello there"
    assert obs.ttft_s is not None and obs.latency_s is not None
    assert 0 < obs.ttft_s < obs.latency_s
    assert obs.usage is not None and obs.usage.completion_tokens == 4
    assert obs.retrieved_ids == ["c1"] and obs.model == "m1"


def test_not_streamed(fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    obs = call(f"{url}/v1", stream=False)
    assert obs.answer == "Answer to hello there" and obs.ttft_s is None
    assert obs.usage is not None and obs.usage.prompt_tokens == 20


def test_malformed_stream(fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    with pytest.raises(TargetProtocolError, match=r"stream event .* is not JSON"):
        call(f"{url}/v1", params={"malformed": True})


# ---------------------------------------------------------------- hostile streams


def test_a_stream_cut_short_is_truncated_not_an_answer(hostile: Hostile) -> None:
    """Three content chunks, then the stream ends: no finish_reason, no [DONE]."""
    with pytest.raises(TargetTruncated, match=r"without \[DONE\] or a finish_reason") as info:
        openai_call(f"{hostile.url}/v1/truncated")
    assert info.value.kind == "truncated"


def test_a_connection_dropped_mid_stream_is_truncated(hostile: Hostile) -> None:
    with pytest.raises(TargetTruncated):
        openai_call(f"{hostile.url}/v1/cut")


def test_a_stream_of_nothing_is_truncated(hostile: Hostile) -> None:
    with pytest.raises(TargetTruncated, match="after 0 content chunks"):
        openai_call(f"{hostile.url}/v1/no-data")


@pytest.mark.parametrize(
    ("mode", "finish"),
    [
        ("ok", "stop"),
        ("length", "length"),
        ("content-filter", "content_filter"),
        ("finish-no-done", "stop"),  # a finish_reason is an end, [DONE] or not
        ("done-no-finish", None),  # [DONE] is an end, finish_reason or not
        ("crlf", "stop"),
        ("comments", "stop"),
    ],
)
def test_finish_reason_recorded(hostile: Hostile, mode: str, finish: str | None) -> None:
    obs = openai_call(f"{hostile.url}/v1/{mode}")
    assert obs.ok and obs.answer == "one two three" and obs.finish_reason == finish


@pytest.mark.parametrize(("mode", "finish"), [("ok", "stop"), ("length", "length")])
def test_finish_reason_recorded_without_streaming(hostile: Hostile, mode: str, finish: str) -> None:
    obs = openai_call(f"{hostile.url}/v1/{mode}", stream=False)
    assert obs.answer == "one two three" and obs.finish_reason == finish


def test_usage_and_ttft_from_a_hostile_but_valid_stream(hostile: Hostile) -> None:
    obs = openai_call(f"{hostile.url}/v1/length")
    assert obs.usage is not None and obs.usage.completion_tokens == 3
    assert obs.ttft_s is not None and obs.latency_s is not None and obs.ttft_s <= obs.latency_s


def test_streamed_tool_calls_are_assembled(hostile: Hostile) -> None:
    obs = openai_call(f"{hostile.url}/v1/tools")
    assert obs.finish_reason == "tool_calls" and obs.answer == ""
    assert obs.tool_calls is not None and len(obs.tool_calls) == 1
    assert obs.tool_calls[0].name == "cancel" and obs.tool_calls[0].arguments == {"order_id": 42}


def test_a_long_event_line_is_read(hostile: Hostile) -> None:
    obs = openai_call(f"{hostile.url}/v1/long-line")
    assert obs.answer == "y" * 300_000


@pytest.mark.parametrize(
    ("mode", "match"),
    [
        ("badjson", "stream event .* is not JSON"),
        ("error-event", "reported an error: model overloaded"),
        ("weird-choices", "choices are not a list"),
        ("weird-delta", "content is a int"),
        ("bad-utf8", "not UTF-8"),
    ],
)
def test_bad_streams_are_protocol_errors(hostile: Hostile, mode: str, match: str) -> None:
    with pytest.raises(TargetProtocolError, match=match):
        openai_call(f"{hostile.url}/v1/{mode}")


def test_an_endless_stream_is_too_large(hostile: Hostile) -> None:
    with pytest.raises(TargetTooLarge, match=r"\(1048576 bytes\)"):
        openai_call(f"{hostile.url}/v1/endless", max_response_bytes=1024 * 1024)
    assert hostile.log.sent_when_done("stream-endless") < 40 * 1024 * 1024


def test_a_completion_without_a_message_object(hostile: Hostile) -> None:
    with pytest.raises(TargetProtocolError, match=r"no choices\[0\]\.message object"):
        openai_call(f"{hostile.url}/v1/weird-message", stream=False)


def test_an_error_event_echoing_the_key_is_scrubbed(hostile: Hostile) -> None:
    import os

    os.environ["CUJEVAL_OPENAI_KEY"] = "sk-hostile-0123456789"
    with pytest.raises(TargetProtocolError, match=r"invalid key \*\*\*") as info:
        openai_call(f"{hostile.url}/v1/error-echo", api_key_env="CUJEVAL_OPENAI_KEY")
    assert "sk-hostile-0123456789" not in str(info.value)


def test_a_server_that_ignores_stream_true_is_read_as_one_completion(hostile: Hostile) -> None:
    obs = openai_call(f"{hostile.url}/v1/json-anyway")
    assert obs.answer == "one two three" and obs.finish_reason == "stop" and obs.ttft_s is None
    assert not obs.streamed
