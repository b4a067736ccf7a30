from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cujeval.errors import InputError, TargetError
from cujeval.spec.records import GoldenCase, Observation
from cujeval.spec.targets import PythonTargetSpec
from cujeval.targets import build_target


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


def test_the_console_command_finds_a_module_in_the_working_folder(tmp_path: Path) -> None:
    """`cujeval run` (the installed script, not `python -m`) imports the user's module from the
    folder it runs in, as `python -m` and uvicorn do."""
    (tmp_path / "my_service.py").write_text(
        "def answer(case):\n    return 'yes: ' + case.question\n"
    )
    (tmp_path / "cases.jsonl").write_text('{"id": "a", "input": "q"}\n')
    (tmp_path / "suite.yaml").write_text(
        "name: here\ntargets:\n  t: {kind: python, callable: 'my_service:answer'}\n"
        "journeys:\n  - {name: j, dataset: cases.jsonl, target: t, scorers: [error]}\n"
    )
    script = Path(sys.executable).parent / "cujeval"
    args = [str(script), "run", "suite.yaml", "--no-mlflow", "--no-progress", "-o", "out"]
    r = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    row = json.loads((tmp_path / "out" / "journal.jsonl").read_text().splitlines()[0])
    assert row["observation"]["answer"] == "yes: q"
    (tmp_path / "suite.yaml").write_text(
        (tmp_path / "suite.yaml").read_text().replace("my_service:", "not_here:")
    )
    r = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "cannot import 'not_here' (looked in the installed packages and in the " in r.stderr
    assert f"working folder {tmp_path})" in r.stderr


def test_cyclic_garbage_collection_is_on_while_cases_run(tmp_path: Path) -> None:
    """`cujeval run` holds cyclic collection off while it starts up (it makes no garbage worth
    collecting then) and turns it on before the first case: a long run must not grow."""
    (tmp_path / "probe.py").write_text(
        "import gc\n"
        "def answer(case):\n"
        "    return f'gc={gc.isenabled()} frozen={gc.get_freeze_count() > 0}'\n"
    )
    (tmp_path / "cases.jsonl").write_text('{"id": "a", "input": "q"}\n')
    (tmp_path / "suite.yaml").write_text(
        "name: gc\ntargets:\n  t: {kind: python, callable: 'probe:answer'}\n"
        "journeys:\n  - {name: j, dataset: cases.jsonl, target: t, scorers: [error]}\n"
    )
    args = [sys.executable, "-m", "cujeval.cli", "run", "suite.yaml", "--no-mlflow", "-o", "out"]
    r = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    row = json.loads((tmp_path / "out" / "journal.jsonl").read_text().splitlines()[0])
    assert row["observation"]["answer"] == "gc=True frozen=True"
