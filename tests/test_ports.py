"""docs/ports.md runs as written: its promptfoo port (a suite, a dataset, a local-file scorer)
through ``cujeval run`` and its DeepEval port (a pytest file, a local-file scorer) through
pytest, each passing on the good release of a support service and failing on the broken one,
saying what failed as the document shows. The service is the stand-in of
tests/support_service.py; the judge grades by a known rule (tests/judge_server.py).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.judge_server import FakeJudge, fake_judge
from tests.support_service import support_service

__all__ = ["fake_judge"]  # the scripted judge, a fixture per test
pytest_plugins = ["pytester"]

DOC = ROOT / "docs" / "ports.md"
BLOCK = re.compile(r'^```(\w+) title="([^"]+)"\n(.*?)\n```$', re.S | re.M)
INI = """[pytest]
asyncio_default_fixture_loop_scope = function
addopts = -p no:hypothesispytest -p no:langsmith_plugin
"""


def blocks() -> dict[str, str]:
    """The document's titled code blocks by title (``promptfoo/suite.yaml``, ``deepeval``)."""
    found = {title: body for _, title, body in BLOCK.findall(DOC.read_text())}
    assert found, "no titled blocks in docs/ports.md"
    return found


def write_port(name: str, directory: Path) -> list[list[str]]:
    """The port's files written into ``directory``; its commands, as argument lists."""
    docs = blocks()
    for title, body in docs.items():
        if title.startswith(f"{name}/") and "." in title:
            (directory / title.split("/", 1)[1]).write_text(body + "\n")
    return [shlex.split(line[2:]) for line in docs[name].splitlines() if line.startswith("$ ")]


def shown(name: str) -> list[str]:
    """The lines the document shows a broken release's run printing."""
    return [line for line in blocks()[f"{name}/broken"].splitlines() if line.strip()]


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    with support_service() as url:
        yield url


def test_the_promptfoo_port_runs_as_written(
    tmp_path: Path, service: str, fake_judge: FakeJudge
) -> None:
    commands = write_port("promptfoo", tmp_path)
    assert [c[0] for c in commands] == ["cujeval"]
    # a cache of its own: the judge's verdicts of an earlier run would be served from it
    env = {**os.environ, "JUDGE_URL": fake_judge.base_url, "XDG_CACHE_HOME": str(tmp_path / "c")}
    runs = {}
    for release in ("good", "broken"):
        env["SUPPORT_URL"] = f"{service}/{release}/ask"
        runs[release] = subprocess.run(
            [sys.executable, "-m", "cujeval.cli", *commands[0][1:]],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=300,
        )
    good, broken = runs["good"], runs["broken"]
    assert good.returncode == 0, good.stdout + good.stderr
    assert "gate PASSED" in good.stdout
    assert broken.returncode == 1, broken.stdout + broken.stderr
    out = flat(broken.stdout)
    for line in shown("promptfoo"):
        assert flat(line) in out, (line, broken.stdout)
    assert len(fake_judge.requests) == 6  # three cases, graded once per release


def test_the_deepeval_port_runs_as_written(
    pytester: pytest.Pytester,
    service: str,
    fake_judge: FakeJudge,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytester.makeini(INI)
    commands = write_port("deepeval", pytester.path)
    assert [c[0] for c in commands] == ["pytest"]
    monkeypatch.setenv("JUDGE_URL", fake_judge.base_url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(pytester.path / "cache"))  # no earlier verdicts
    monkeypatch.setenv("SUPPORT_URL", f"{service}/good/ask")
    # in a process of its own: the judge's libraries (ragas, numpy) load once per process
    good = pytester.runpytest_subprocess(*commands[0][1:])
    good.assert_outcomes(passed=1)
    monkeypatch.setenv("SUPPORT_URL", f"{service}/broken/ask")
    broken = pytester.runpytest_subprocess(*commands[0][1:])
    broken.assert_outcomes(failed=1)
    out = flat(broken.stdout.str())
    for line in shown("deepeval"):
        assert flat(line) in out, (line, broken.stdout.str())
    assert (pytester.path / "reports").is_dir()  # the journey's reports, as a suite's
