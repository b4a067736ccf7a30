"""Redirects from real servers on 127.0.0.1: never followed by default, followed within the
origin when the target allows it, never to another origin or scheme, and the request, its body
and its credentials never reach another origin."""

from __future__ import annotations

import os
from typing import Any

import pytest
from tests.hostile_server import Hostile
from tests.targets.calls import http_call, openai_call

from cujeval.errors import TargetRedirectError

SECRET = "s3cr3t-Redirect-7"


@pytest.fixture
def credentials() -> dict[str, Any]:
    """An X-Api-Key from the environment and a secret header, as a suite would set them."""
    os.environ["CUJEVAL_REDIRECT_KEY"] = f"env-{SECRET}"
    return {
        "api_key_env": "CUJEVAL_REDIRECT_KEY",
        "api_key_header": "X-Api-Key",
        "api_key_prefix": "",
        "headers": {"X-Custom-Token": f"hdr-{SECRET}"},
    }


@pytest.mark.parametrize("path", ["to-same", "to-same?absolute=1", "loop", "chain?n=2"])
def test_not_followed_by_default(hostile: Hostile, path: str) -> None:
    with pytest.raises(TargetRedirectError, match="redirects are not followed") as info:
        http_call(f"{hostile.url}/redirect/{path}")
    assert info.value.kind == "redirect" and "redirects: same-origin" in str(info.value)


@pytest.mark.parametrize("redirects", ["none", "same-origin"])
def test_another_origin_is_never_followed_and_gets_nothing(
    hostile: Hostile, credentials: dict[str, Any], redirects: str
) -> None:
    before = len(hostile.log.other)
    with pytest.raises(TargetRedirectError) as info:
        http_call(
            f"{hostile.url}/redirect/to-other?code=307&q2={SECRET}",
            redirects=redirects,
            **credentials,
        )
    message = str(info.value)
    port, other_port = hostile.url.rsplit(":", 1)[1], hostile.other_url.rsplit(":", 1)[1]
    assert (
        f"from origin http://127.0.0.1:{port} to another origin http://127.0.0.1:{other_port}"
        in (message)
    )
    assert SECRET not in message
    assert len(hostile.log.other) == before  # not a byte: no body, no header, no answer


@pytest.mark.parametrize("redirects", ["none", "same-origin"])
def test_a_file_url_is_never_followed(hostile: Hostile, redirects: str) -> None:
    with pytest.raises(TargetRedirectError, match="to a file: URL"):
        http_call(f"{hostile.url}/redirect/to-file", redirects=redirects)


@pytest.mark.parametrize(
    ("code", "answer"),
    [(307, "POST how do I reset?"), (308, "POST how do I reset?"), (302, "GET"), (303, "GET")],
)
def test_same_origin_followed_when_allowed(hostile: Hostile, code: int, answer: str) -> None:
    """307/308 keep the method and body; 302/303 turn a POST into a GET, as clients do."""
    obs = http_call(f"{hostile.url}/redirect/to-same?code={code}", redirects="same-origin")
    assert obs.ok and obs.answer == answer


def test_same_origin_absolute_location_and_credentials(
    hostile: Hostile, credentials: dict[str, Any]
) -> None:
    obs = http_call(
        f"{hostile.url}/redirect/to-same?absolute=1", redirects="same-origin", **credentials
    )
    assert obs.answer == "POST how do I reset?"


def test_hops_are_bounded(hostile: Hostile) -> None:
    assert http_call(f"{hostile.url}/redirect/chain?n=5", redirects="same-origin").ok
    with pytest.raises(TargetRedirectError, match="more than 5 times"):
        http_call(f"{hostile.url}/redirect/chain?n=6", redirects="same-origin")


def test_a_loop_is_named(hostile: Hostile) -> None:
    with pytest.raises(TargetRedirectError, match="in a loop"):
        http_call(f"{hostile.url}/redirect/loop", redirects="same-origin")


@pytest.mark.parametrize(
    ("path", "match"),
    [("no-location", "without a Location"), ("bad-location", "to an invalid location")],
)
def test_broken_redirects(hostile: Hostile, path: str, match: str) -> None:
    with pytest.raises(TargetRedirectError, match=match):
        http_call(f"{hostile.url}/redirect/{path}", redirects="same-origin")


@pytest.mark.parametrize("redirects", ["none", "same-origin"])
def test_openai_target_redirects_too(
    hostile: Hostile, credentials: dict[str, Any], redirects: str
) -> None:
    before = len(hostile.log.other)
    with pytest.raises(TargetRedirectError, match="another origin"):
        openai_call(
            f"{hostile.url}/v1/to-other",
            redirects=redirects,
            headers=credentials["headers"],
            api_key_env=credentials["api_key_env"],
        )
    assert len(hostile.log.other) == before
