from __future__ import annotations

import asyncio

import pytest

from cujeval.errors import InputError, TargetError
from cujeval.records import GoldenCase, Observation
from cujeval.targets import build_target
from cujeval.targets.config import PythonTargetSpec


def echo(case: GoldenCase, prefix: str = "") -> str:
    return prefix + case.question


async def rag(case: GoldenCase) -> dict[str, object]:
    return {
        "answer": "a",
        "contexts": ["first", {"id": "k2", "text": "second"}],
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }


def broken(case: GoldenCase) -> str:
    raise ZeroDivisionError("boom")


def call(path: str, **kwargs: object) -> Observation:
    async def go() -> Observation:
        t = build_target("t", PythonTargetSpec(kind="python", callable=path, kwargs=kwargs))
        return await t.call(GoldenCase(id="1", input="q?"))

    return asyncio.run(go())


def test_sync_and_async_callables() -> None:
    assert call("tests.targets.test_python:echo", prefix="> ").answer == "> q?"
    obs = call("tests.targets.test_python:rag")
    assert obs.contexts is not None and obs.contexts[0].text == "first"
    assert obs.retrieved_ids == ["k2"]
    assert obs.usage is not None and obs.usage.completion_tokens == 1


def test_user_error_is_a_target_error() -> None:
    with pytest.raises(TargetError, match="ZeroDivisionError: boom"):
        call("tests.targets.test_python:broken")


@pytest.mark.parametrize("path", ["nocolon", "tests.targets.test_python:missing", "no_such_mod:x"])
def test_bad_import_path(path: str) -> None:
    with pytest.raises(InputError):
        call(path)
