"""tests/judge_server.py: llama.cpp missing means skip, except on CI where it must be there."""

from __future__ import annotations

import pytest
from tests import judge_server


def test_missing_llama_cpp_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(judge_server, "missing_requirement", lambda: "no llama_cpp")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no llama_cpp"):
        judge_server.require_llama_cpp()


def test_missing_llama_cpp_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(judge_server, "missing_requirement", lambda: "no llama_cpp")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must provide"):
        judge_server.require_llama_cpp()


def test_present_llama_cpp_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(judge_server, "missing_requirement", lambda: None)
    monkeypatch.setenv("CI", "true")
    judge_server.require_llama_cpp()
