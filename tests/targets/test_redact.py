"""What of a URL or a message may be shown: every query value hidden unless declared public,
no userinfo, no secret a target holds in any message or description."""

from __future__ import annotations

import os

import pytest
from tests.hostile_server import Hostile
from tests.targets.calls import http_call

from cujeval.errors import TargetError
from cujeval.redact import redact_url, scrub, url_secrets
from cujeval.targets import build_target
from cujeval.targets.config import HttpTargetSpec, OpenAITargetSpec

SECRET = "s3cr3t-Redact-9"


@pytest.mark.parametrize(
    ("url", "public", "shown"),
    [
        ("https://h.example/x?q2=abc&key=def", (), "https://h.example/x?q2=***&key=***"),
        ("https://h.example/x?q2=abc&lang=en", ("lang",), "https://h.example/x?q2=***&lang=en"),
        ("http://user:pw@h.example:8080/p", (), "http://h.example:8080/p"),
        ("http://h.example/p?bare-token", (), "http://h.example/p?***"),
        ("http://h.example/p?a=1#access_token=x", (), "http://h.example/p?a=***"),
        ("http://[::1]:9000/v1?k=v", (), "http://[::1]:9000/v1?k=***"),
        ("http://h.example/p?a%20b=1", ("a b",), "http://h.example/p?a%20b=1"),
        ("http://h.example:99999/", (), "<unparseable url>"),
    ],
)
def test_redact_url(url: str, public: tuple[str, ...], shown: str) -> None:
    assert redact_url(url, public) == shown


def test_url_secrets_and_scrub() -> None:
    url = "http://me:pa55word@h/p?q2=abc%2Fdef&lang=en&tok"
    basic = "bWU6cGE1NXdvcmQ="  # base64("me:pa55word"), what an Authorization header carries
    assert url_secrets(url, ["lang"]) == {"me", "pa55word", basic, "abc%2Fdef", "tok"}
    text = "saw pa55word and abc/def and abc%2Fdef and \x1b[31mred\x1b[0m, lang=en"
    assert scrub(text, url_secrets(url, ["lang"])) == (
        "saw *** and *** and *** and [31mred[0m, lang=en"
    )
    assert scrub("a short x", ["x"]) == "a short x"  # too short to be a credential


def test_descriptions_never_hold_secrets() -> None:
    os.environ["CUJEVAL_REDACT_KEY"] = SECRET
    http = build_target(
        "t",
        HttpTargetSpec(
            kind="http",
            url=f"https://u:{SECRET}@h.example/a?q2={SECRET}&lang=en",
            public_params=["lang"],
            api_key_env="CUJEVAL_REDACT_KEY",
        ),
    )
    openai = build_target(
        "o",
        OpenAITargetSpec(
            kind="openai",
            base_url=f"https://h.example/v1?code={SECRET}",
            model="m",
            api_key_env="CUJEVAL_REDACT_KEY",
        ),
    )
    assert http.description == "http POST https://h.example/a?q2=***&lang=en"
    assert SECRET not in openai.description and "code=***" in openai.description


def test_a_secret_in_an_innocent_parameter_stays_out_of_errors(hostile: Hostile) -> None:
    with pytest.raises(TargetError) as info:
        http_call(f"{hostile.raw_url}/bad-status?q2={SECRET}&page=2", public_params=["page"])
    assert SECRET not in str(info.value) and "?q2=***&page=2" in str(info.value)


def test_non_http_urls_are_refused_when_the_suite_loads() -> None:
    from pydantic import ValidationError

    for url in ("file:///etc/passwd", "ftp://h/x", "/relative", f"http://h:99999/?k={SECRET}"):
        with pytest.raises(ValidationError, match="absolute http") as info:
            HttpTargetSpec(kind="http", url=url)
        assert SECRET not in info.value.errors()[0]["msg"]
