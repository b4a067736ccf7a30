"""The http target against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.servers import free_port

from cujeval.errors import TargetConnectError, TargetHTTPError, TargetProtocolError, TargetTimeout
from cujeval.spec.records import GoldenCase, Observation
from cujeval.spec.targets import HttpTargetSpec
from cujeval.targets import build_target
from cujeval.targets.base import redact_url
from cujeval.targets.http import fill

CASE = GoldenCase(id="c1", input="how do I reset?", tags=("a",))


def call(url: str, **spec: Any) -> Observation:
    async def go() -> Observation:
        target = build_target("t", HttpTargetSpec(kind="http", url=url, **spec))
        try:
            return await target.call(CASE)
        finally:
            await target.aclose()

    return asyncio.run(go())


def test_maps_answer_contexts_usage(fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    obs = call(f"{url}/answer")
    assert obs.answer == "You asked: how do I reset?"
    assert obs.retrieved_ids == ["d1", "d2"]
    assert obs.usage is not None and obs.usage.prompt_tokens == 12
    assert obs.model == "test-model" and obs.latency_s is not None and obs.latency_s > 0


def test_jmespath_mapping_and_template(fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    obs = call(
        f"{url}/answer",
        request={"question": "{{case.id}}: {{question}}"},
        response={"answer": "answer", "contexts": "contexts[?score > `0.6`]"},
    )
    assert obs.answer == "You asked: c1: how do I reset?"
    assert obs.retrieved_ids == ["d1"]


def test_fill_keeps_types() -> None:
    assert fill({"m": "{{messages}}", "t": "{{case.tags}}", "n": 3}, CASE) == {
        "m": [{"role": "user", "content": "how do I reset?"}],
        "t": ["a"],
        "n": 3,
    }


@pytest.mark.parametrize(
    ("path", "error", "match"),
    [
        ("/status/503", TargetHTTPError, "HTTP 503"),
        ("/badjson", TargetProtocolError, "not JSON"),
        ("/reset", TargetConnectError, "lost"),
    ],
)
def test_faults_raise_typed_errors(
    fault_server: tuple[str, Any], path: str, error: type[Exception], match: str
) -> None:
    url, _ = fault_server
    with pytest.raises(error, match=match):
        call(f"{url}{path}")


def test_oversized_body(fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    with pytest.raises(TargetProtocolError, match=r"max_response_bytes \(1000 bytes\)"):
        call(f"{url}/big", max_response_bytes=1000)


def test_timeout(fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    with pytest.raises(TargetTimeout):
        call(f"{url}/slow?s=3", timeout_s=0.3)


def test_refused() -> None:
    with pytest.raises(TargetConnectError, match="cannot connect"):
        call(f"http://127.0.0.1:{free_port()}/answer")


def test_retry_after_parsed(fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    with pytest.raises(TargetHTTPError) as info:
        call(f"{url}/flaky?fail=100&status=429&retry_after=7")
    assert info.value.status == 429 and info.value.retry_after_s == 7


def test_redact_url_is_reexported() -> None:
    """reporters/mlflow.py and the judge import it from here."""
    from cujeval._util import redact

    assert redact_url is redact.redact_url
    assert redact_url("https://u:p@h.example:8443/x?api_key=s3&q=1") == (
        "https://h.example:8443/x?api_key=***&q=***"
    )


def test_finish_reason_mapped_when_named(fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    obs = call(f"{url}/answer", response={"answer": "answer", "finish_reason": "model"})
    assert obs.finish_reason == "test-model"
    assert call(f"{url}/answer").finish_reason is None


def test_tool_calls_keep_their_timing_and_error_and_odd_entries_stay_visible() -> None:
    from cujeval.targets.base import observation_from_mapping

    obs = observation_from_mapping(
        {
            "answer": "done",
            "tool_calls": [
                {"name": "lookup", "arguments": {"id": 1}, "latency_s": 0.25, "error": None},
                {"name": "refund", "arguments": "{}", "error": "upstream 503"},
                "not an object",
            ],
        },
        latency_s=1.0,
    )
    first, second, odd = obs.tool_calls or ()
    assert (first.latency_s, first.error) == (0.25, None)
    assert (second.latency_s, second.error) == (None, "upstream 503")
    assert odd.name == "" and odd.arguments == {"_raw": "not an object"}
