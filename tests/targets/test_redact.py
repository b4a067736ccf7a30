"""What of a URL or a message may be shown: every query value hidden unless declared public,
no userinfo, no secret a target holds in any message or description."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.hostile_server import Hostile
from tests.targets.calls import http_call

from cujeval._util.redact import redact_url, scrub, url_secrets
from cujeval.errors import TargetError
from cujeval.spec.targets import HttpTargetSpec, OpenAITargetSpec
from cujeval.targets import build_target

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


# ---- redaction by value: the one function every writer calls ------------------------------


def test_a_registered_secret_is_masked_raw_and_in_every_common_encoding() -> None:
    import base64
    import html
    import json
    from urllib.parse import quote, quote_plus

    from cujeval._util.redact import redact, register

    secret = "k3y/Value+Plant=1&x"
    register(secret)
    b64 = base64.b64encode(secret.encode()).decode()
    for form in (
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        html.escape(secret),
        b64,
        base64.b64encode(f"{secret}:".encode()).decode(),  # the key as a Basic user name
    ):
        assert redact(f"<<{form}>>") == "<<***>>", form
    assert redact("nothing secret here") == "nothing secret here"


def test_url_credentials_are_the_password_basic_form_and_long_query_values() -> None:
    import base64

    from cujeval._util.redact import url_credentials

    url = (
        "http://me:pa55word@h/p?q2=abc&sig=0123456789abcdef&lang=en&ns=deadline&v=2024-06-01"
        "&k=ab12cd34&long=abcdefghijklmnopq"
    )
    basic = base64.b64encode(b"me:pa55word").decode()
    # neither a user name nor a word or a number (?stream=true, ?ns=deadline) is a credential
    assert url_credentials(url, ["lang"]) == {
        "pa55word",
        basic,
        "0123456789abcdef",
        "ab12cd34",
        "abcdefghijklmnopq",
    }


def test_clean_masks_strings_and_keys_never_numbers_or_structure() -> None:
    from cujeval._util.redact import clean, register

    register("90210777")
    data = {"n": 90210777, "x": 0.90210777, "s": "id 90210777", "90210777": [("a", "b90210777")]}
    assert clean(data) == {"n": 90210777, "x": 0.90210777, "s": "id ***", "***": [("a", "b***")]}
    assert clean({"t": "lone \ud800"}) == {"t": "lone \ufffd"}


def test_the_tracking_uri_credentials_are_secret_whatever_the_suite_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import base64

    from cujeval._util.redact import redact

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://ml-user:Trk-pw-Plant9@mlflow.example")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-Plant-Token-7")
    basic = base64.b64encode(b"ml-user:Trk-pw-Plant9").decode()
    text = f"401: Authorization: Basic {basic}; pw Trk-pw-Plant9; Bearer tok-Plant-Token-7"
    assert redact(text) == "401: Authorization: Basic ***; pw ***; Bearer ***"


def test_visible_stand_ins_keep_xml_and_html_writable() -> None:
    import xml.etree.ElementTree as ET

    from cujeval._util.redact import html_text, visible, xml_text

    text = "a\x00b\x1b[2Jc\ufffed\x7fe\tf\ng\x85h\udc80"
    assert visible(text) == "a␀b␛[2Jc\\uFFFEd␡e\tf\ng\\x85h\ufffd"
    ET.fromstring(f"<r a='{xml_text(text)}'>{xml_text(text)}</r>")  # well-formed
    assert html_text("<b>\x00</b>") == "&lt;b&gt;␀&lt;/b&gt;"


def test_guarded_streams_redact_whatever_is_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from cujeval._util.redact import guard_streams, register

    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    register("Printed-Plant-42")
    guard_streams()
    print("key Printed-Plant-42")
    print("again Printed-Plant-42", file=sys.stderr)
    assert not hasattr(sys.stdout, "buffer")  # nothing writes bytes around the redaction
    with pytest.raises(TypeError):
        sys.stdout.write(b"bytes")  # type: ignore[arg-type]
    assert out.getvalue() == "key ***\n" and err.getvalue() == "again ***\n"


def test_a_key_used_as_a_basic_user_name_is_masked_whatever_the_password() -> None:
    import base64

    from cujeval._util.redact import redact, register

    register("UserKey-Plant-0042")
    basic = base64.b64encode(b"UserKey-Plant-0042:any password").decode()
    assert redact(basic) == "***" + basic[24:]  # the 18 bytes of the key are 24 characters


# secrets with characters JSON escapes, a URL-encoded and a non-ASCII one; registered for the
# whole process, so none of them is text any other test writes
_DUMPS_SECRETS = ('Qz"8\\kw/p-Dumps', "Dumps é ✓ 77", "Dumps+Plus%22key-9")


@st.composite
def _json_like(draw: st.DrawFn) -> Any:
    pieces = st.sampled_from(
        [*_DUMPS_SECRETS, 'Dumps Plus"key-9', 'Qz\\"8', "é", "\ud800", "%2F", "Dumps", "\n", "0"]
    )
    text = st.lists(pieces | st.text(max_size=4), max_size=4).map("".join)
    leaf = text | st.integers() | st.floats(allow_nan=False) | st.booleans() | st.none()
    return draw(
        st.recursive(
            leaf,
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(text, inner, max_size=3)
                | st.tuples(inner, inner)
            ),
            max_leaves=12,
        )
    )


@settings(max_examples=300, deadline=None)
@given(value=_json_like(), ascii_only=st.booleans())
def test_clean_and_dumps_are_the_walk_over_every_string(value: Any, ascii_only: bool) -> None:
    """The fast path (one JSON text looked through) and the walk over every string give the
    same document, whatever secret, escape or lone surrogate the value holds."""
    import json

    from cujeval._util import redact

    redact.register(*_DUMPS_SECRETS)
    every_string = redact._clean(value, redact._REGISTRY.current())
    assert redact.clean(value) == every_string
    walked = json.dumps(every_string, default=lambda o: str(o), ensure_ascii=ascii_only)
    assert redact.dumps(value, ensure_ascii=ascii_only) == walked
    for secret in _DUMPS_SECRETS:
        assert secret not in redact.dumps(value, ensure_ascii=False)
