"""Bodies of any size and broken HTTP, from real servers on 127.0.0.1: every call ends with a
complete, size-checked body or a TargetError that shows only the redacted URL."""

from __future__ import annotations

import asyncio

import pytest
from tests.hostile_server import MIB, Hostile
from tests.targets.calls import http_call

from cujeval.errors import (
    TargetConnectError,
    TargetError,
    TargetHTTPError,
    TargetProtocolError,
    TargetTooLarge,
    TargetTruncated,
)
from cujeval.targets.transport import Endpoint, new_session, read_json, request, retry_after

SECRET = "s3cr3t-Value-42"


@pytest.mark.parametrize("size", [1024, 300_000, 2_000_000, 7_900_000])
@pytest.mark.parametrize("chunked", [False, True])
def test_big_valid_bodies_are_read_whole(hostile: Hostile, size: int, chunked: bool) -> None:
    """Bodies far larger than one socket read are answers, not "Unterminated string"."""
    obs = http_call(
        f"{hostile.url}/json?size={size}&chunked={int(chunked)}",
        response={"answer": "answer", "contexts": "contexts", "finish_reason": "finish_reason"},
    )
    assert obs.ok and obs.answer == "the complete answer"
    assert obs.retrieved_ids == ["d1"] and obs.finish_reason == "stop"


@pytest.mark.parametrize("declare", [True, False])
def test_a_200_mb_body_is_refused_as_too_large_without_downloading_it(
    hostile: Hostile, declare: bool
) -> None:
    with pytest.raises(TargetTooLarge, match=r"max_response_bytes \(8388608 bytes\)") as info:
        http_call(f"{hostile.url}/endless?mb=200&declare={int(declare)}")
    assert info.value.kind == "too_large" and isinstance(info.value, TargetProtocolError)
    # what the server managed to write before the client hung up: the limit plus socket
    # buffers, nowhere near the 200 MiB it had to send
    assert hostile.log.sent_when_done(f"endless-{int(declare)}") < 40 * MIB


def test_a_small_limit_is_honoured(hostile: Hostile) -> None:
    with pytest.raises(TargetTooLarge, match=r"\(1000 bytes\)"):
        http_call(f"{hostile.url}/json?size=5000", max_response_bytes=1000)
    assert http_call(f"{hostile.url}/json?size=5000", max_response_bytes=5000).ok


def test_a_compressed_bomb_is_limited_by_its_inflated_size(hostile: Hostile) -> None:
    with pytest.raises(TargetTooLarge):
        http_call(f"{hostile.url}/gzip")


def test_the_connection_of_a_refused_body_is_not_reused(hostile: Hostile) -> None:
    """After a body is refused part-way, the next call on the same session gets its own
    answer, not the rest of the refused one."""
    url = f"{hostile.url}/json?size=200000&chunked=1"
    small, default = Endpoint(url, max_bytes=100), Endpoint(url)

    async def go() -> object:
        session = new_session()
        try:
            with pytest.raises(TargetTooLarge):
                async with request(session, small, "POST", json={}) as resp:
                    await read_json(resp, small)
            async with request(session, default, "POST", json={}) as resp:
                return await read_json(resp, default)
        finally:
            await session.close()

    data = asyncio.run(go())
    assert isinstance(data, dict) and data["answer"] == "the complete answer"


@pytest.mark.parametrize(
    ("path", "error", "match"),
    [
        ("/bad-status", TargetProtocolError, "malformed HTTP response.*status"),
        ("/not-http", TargetProtocolError, "malformed HTTP response"),
        ("/bad-header", TargetProtocolError, "malformed HTTP response"),
        ("/huge-header", TargetProtocolError, "malformed HTTP response"),
        ("/bad-chunked", TargetProtocolError, "malformed HTTP response"),
        ("/bad-gzip", TargetProtocolError, "malformed body"),
        ("/short-body", TargetTruncated, "ended before its declared end"),
        ("/close", TargetConnectError, "lost"),
    ],
)
def test_broken_http_is_a_target_error_with_the_redacted_url(
    hostile: Hostile, path: str, error: type[TargetError], match: str
) -> None:
    url = f"{hostile.raw_url}{path}?q2={SECRET}"
    with pytest.raises(error, match=match) as info:
        http_call(url)
    message = str(info.value)
    assert SECRET not in message and f"{path}?q2=***" in message
    assert info.value.url == f"{hostile.raw_url}{path}?q2=***"


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("deep", "nested too deeply"),
        ("bigint", "not acceptable JSON"),
        ("not-json", "not JSON"),
        ("empty", "is empty"),
        ("bad-utf8", r"not UTF-8 \(byte 0xe9"),
        ("list", "no answer"),
        ("missing-answer", "no answer at 'answer'"),
        ("bad-contexts", "could not convert string to float"),
        ("bad-rank", "invalid literal for int"),
        ("bad-usage", "invalid literal for int"),
        ("bad-tools", r"tool_calls\[0\].function must be an object"),
        ("contexts-object", "contexts must be a list"),
    ],
)
def test_odd_bodies_are_protocol_errors(hostile: Hostile, name: str, match: str) -> None:
    with pytest.raises(TargetProtocolError, match=match):
        http_call(f"{hostile.url}/body/{name}")


def test_a_response_mapping_that_does_not_fit_is_a_protocol_error(hostile: Hostile) -> None:
    with pytest.raises(TargetProtocolError, match="does not fit the response mapping"):
        http_call(f"{hostile.url}/json?size=100", response={"answer": "length(`5`)"})


def test_an_error_body_is_shown_without_the_secrets_it_echoes(hostile: Hostile) -> None:
    """A 500 that repeats the request (query, headers) back: the message keeps the status
    and the text, not the credentials."""
    import os

    os.environ["CUJEVAL_TEST_KEY"] = "key-" + SECRET
    with pytest.raises(TargetHTTPError, match="HTTP 500") as info:
        http_call(
            f"http://user:pw-{SECRET}@{hostile.url.removeprefix('http://')}/echo-error?q2={SECRET}",
            headers={"X-Api-Key": f"hdr-{SECRET}"},
            api_key_env="CUJEVAL_TEST_KEY",
            api_key_header="X-Other-Key",
        )
    message = str(info.value)
    assert "cannot serve POST /echo-error?q2=***" in message
    assert SECRET not in message and "X-Api-Key: ***" in message and "X-Other-Key: ***" in message
    assert "Authorization: Basic ***" in message  # the userinfo, base64-encoded by the client


def test_unreachable_is_a_connect_error() -> None:
    from tests.servers import free_port

    with pytest.raises(TargetConnectError, match="cannot connect"):
        http_call(f"http://127.0.0.1:{free_port()}/x?q2={SECRET}")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), ("-3", 0.0), ("nan", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert retry_after(value) == seconds


def test_tls_to_a_plain_http_server_is_a_connect_error(hostile: Hostile) -> None:
    https = hostile.url.replace("http://", "https://")
    with pytest.raises(TargetConnectError) as info:
        http_call(f"{https}/json?q2={SECRET}")
    assert SECRET not in str(info.value) and "?q2=***" in str(info.value)


def test_a_header_that_cannot_be_sent_is_a_target_error(hostile: Hostile) -> None:
    with pytest.raises(TargetConnectError, match="cannot send a request"):
        http_call(f"{hostile.url}/json", headers={"X-Bad": "a\r\nInjected: 1"})


def test_placeholders_in_case_values_are_sent_verbatim(hostile: Hostile) -> None:
    """${VAR} and {{...}} inside a dataset value are data, never expanded."""
    from cujeval.spec.records import GoldenCase
    from cujeval.spec.targets import HttpTargetSpec
    from cujeval.targets import build_target

    question = "{{case.id}} and ${HOME} and {{question}}"

    async def go() -> str | None:
        target = build_target("t", HttpTargetSpec(kind="http", url=f"{hostile.url}/echo"))
        try:
            return (await target.call(GoldenCase(id="c9", input=question))).answer
        finally:
            await target.aclose()

    assert asyncio.run(go()) == f"POST {question}"
