"""Fixtures for the instruction-following tests: the IFEval dev data and check runners."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cujeval.scorers.instructions import Exchange, Verdict, follow
from cujeval.spec.records import Instruction, Observation

SHARED_DEV = Path("/work/shared/data/ifeval/gpt4_responses_dev.jsonl")
BUNDLED_DEV = Path(__file__).parents[2] / "data" / "ifeval_gpt4_responses_dev.jsonl"

VerdictOf = Callable[..., Verdict]
Passes = Callable[..., bool]


@pytest.fixture(scope="session")
def dev_path() -> Path:
    """GPT-4's dev responses with official verdicts: the shared copy, else the bundled one."""
    return SHARED_DEV if SHARED_DEV.exists() else BUNDLED_DEV


def _verdict(
    id: str, text: str, *, prompt: str = "", obs: Observation | None = None, **kwargs: Any
) -> Verdict:
    [result] = follow([Instruction(id=id, kwargs=kwargs)], text, Exchange(prompt=prompt, obs=obs))
    return result


@pytest.fixture
def verdict() -> VerdictOf:
    """``verdict(id, text, prompt=..., obs=..., **kwargs)``: one instruction's Verdict."""
    return _verdict


@pytest.fixture
def passes() -> Passes:
    """``passes(id, text, **kwargs)``: one instruction's strict verdict."""
    return lambda id, text, **kwargs: _verdict(id, text, **kwargs).strict
