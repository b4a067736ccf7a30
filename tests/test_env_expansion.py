"""``${VAR}`` and ``${VAR:-default}`` in suite strings, defaults nested in defaults, and bad
references left as written."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cujeval._util.yamlsource import expand_env
from cujeval.errors import InputError

_FLAT = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand(text: str) -> str:
    return expand_env(text, file="s.yaml", line=3, field="targets.a.url")


def flat(text: str) -> str:
    """The one-level rule: what any text without a reference inside a default means."""
    return _FLAT.sub(lambda m: os.environ.get(m.group(1)) or m.group(2) or "", text)


def test_nested_defaults_are_used_only_when_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "${CJ_CAND:-${CJ_BASE:-http://127.0.0.1:8000}}/answer"
    monkeypatch.delenv("CJ_CAND", raising=False)
    monkeypatch.delenv("CJ_BASE", raising=False)
    assert expand(text) == "http://127.0.0.1:8000/answer"
    monkeypatch.setenv("CJ_BASE", "http://base")
    assert expand(text) == "http://base/answer"
    monkeypatch.setenv("CJ_CAND", "http://cand")
    assert expand(text) == "http://cand/answer"
    # a default that is not used may name a variable that is not set
    assert expand("${CJ_CAND:-${CJ_NOT_SET_ANYWHERE}}") == "http://cand"


def test_a_needed_variable_without_default_names_file_line_and_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CJ_CAND", raising=False)
    monkeypatch.delenv("CJ_NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(InputError, match=r"s.yaml:3: field 'targets.a.url': environment var"):
        expand("x${CJ_CAND:-${CJ_NOT_SET_ANYWHERE}}")


@pytest.mark.parametrize("text", ["${", "${1A}", "${A:-unclosed", "$${}", "}{$", "${A B}", "a}b"])
def test_what_is_not_a_reference_is_kept(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A", "set")
    assert expand(text) == flat(text) == text


_piece = st.one_of(
    # no letters in the free text: "${" + "a" + "}" would be a reference to an unset variable
    # without a default, which is an error (tested above), not a one-level text
    st.text(alphabet="01:/-.}{$ ", max_size=6),
    st.sampled_from(["${CJ_X}", "${CJ_Y:-d}", "${CJ_Z:-}", "${CJ_X:-a:b}", "${", "}"]),
)


@given(st.lists(_piece, max_size=8).map("".join))
def test_one_level_texts_expand_as_before(text: str) -> None:
    os.environ["CJ_X"], os.environ["CJ_Y"] = "x", ""
    os.environ.pop("CJ_Z", None)
    try:
        assert expand(text) == flat(text)
    finally:
        del os.environ["CJ_X"], os.environ["CJ_Y"]
