"""``cujeval score`` with a judge: progress while it works (rows, judge calls, failures so far:
a bar on a terminal, lines otherwise), the judge's settings as flags with defaults for a judge
on this machine, scorer options and local plugins on the command line. Against the scripted
judge on 127.0.0.1 (tests/judge_server.py).
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cujeval._util.progress import Ticker
from cujeval.engine.offline import LOCAL_DEFAULTS, judge_from_flags, parse_scorer
from cujeval.errors import InputError
from tests.helpers import cujeval
from tests.judge_server import FakeJudge, fake_judge
from tests.support_service import BROKEN, GOOD

__all__ = ["fake_judge"]  # the scripted judge, a fixture per test

RUBRIC = 'rubric={name: offers-refund, criteria: "It says \\"sorry\\" and offers a \\"refund\\"."}'


def write_rows(path: Path, n: int) -> Path:
    with path.open("w") as f:
        for i in range(n):
            answer = GOOD if i % 2 == 0 else BROKEN
            f.write(json.dumps({"id": f"r{i}", "input": "Money back?", "answer": answer}) + "\n")
    return path


def test_progress_lines_and_local_defaults(tmp_path: Path, fake_judge: FakeJudge) -> None:
    fake_judge.delay_s = 0.05
    rows = write_rows(tmp_path / "rows.jsonl", 10)
    r = cujeval(
        "score", "-i", str(rows), "-s", RUBRIC, "-o", str(tmp_path / "out.jsonl"),
        "--judge-url", fake_judge.base_url, "--judge-model", "gemma", "--no-judge-cache",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0] == (
        f"judge gemma at {fake_judge.base_url} (on this machine: local defaults for what is "
        "not set): max_tokens 512, timeout 180 s, concurrency 1, retries 1, epochs 1 "
        "(--judge-max-tokens, --judge-timeout, --judge-concurrency, --judge-retries, "
        "--judge-epochs to change)"
    )
    progress = [x for x in lines if re.match(r"\d+/10 rows, \d+ s", x)]
    assert [int(x.split("/")[0]) for x in progress] == list(range(1, 11))  # each tenth, the end
    assert progress[-1].endswith("; judge: 10 calls, 0 failed")
    assert fake_judge.peak_in_flight == 1  # one call at a time to a server on this machine
    assert {b["max_tokens"] for b in fake_judge.requests} == {512}
    scored = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [s["id"] for s in scored] == [f"r{i}" for i in range(10)]  # input order
    verdicts = [s["scores"]["rubric:offers-refund"]["value"] for s in scored]
    assert verdicts == [i % 2 == 0 for i in range(10)]


def test_judge_flags_and_failures_so_far(tmp_path: Path, fake_judge: FakeJudge) -> None:
    fake_judge.delay_s = 0.2
    rows = write_rows(tmp_path / "rows.jsonl", 6)
    flags = ["--judge-url", fake_judge.base_url, "--judge-model", "gemma", "--no-judge-cache"]
    r = cujeval(
        "score", "-i", str(rows), "-s", RUBRIC, "-o", str(tmp_path / "two.jsonl"), *flags,
        "--judge-max-tokens", "64", "--judge-concurrency", "2",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "max_tokens 64, timeout 180 s, concurrency 2, retries 1, epochs 1" in r.stderr
    assert {b["max_tokens"] for b in fake_judge.requests} == {64}
    assert fake_judge.peak_in_flight == 2

    fake_judge.delay_s = 1.0  # now every call outlasts --judge-timeout
    r = cujeval(
        "score", "-i", str(rows), "-s", RUBRIC, "-o", str(tmp_path / "out.jsonl"), *flags,
        "--judge-timeout", "0.3", "--judge-retries", "0",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "max_tokens 512, timeout 0.3 s, concurrency 1, retries 0, epochs 1" in r.stderr
    last = [x for x in r.stderr.splitlines() if re.match(r"\d+/6 rows", x)][-1]
    assert last.startswith("6/6 rows")
    assert last.endswith("; judge: 6 calls, 6 failed (timeout 6); 6 with scorer errors")
    assert "did not answer within judge.timeout_s=0.3 s (1 attempt)" in r.stderr
    first = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])["scores"]
    score = first["rubric:offers-refund"]
    assert score["value"] is None and score["metadata"]["scorer_error"] is True
    assert "judge.timeout_s=0.3 s" in score["explanation"]


def test_a_progress_bar_on_a_terminal(tmp_path: Path, fake_judge: FakeJudge) -> None:
    rows = write_rows(tmp_path / "rows.jsonl", 3)
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cujeval.cli", "score", "-i", str(rows), "-s", RUBRIC,
         "-o", str(tmp_path / "out.jsonl"), "--judge-url", fake_judge.base_url,
         "--judge-model", "gemma", "--no-judge-cache"],
        stderr=secondary, stdout=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "160"},
    )  # fmt: skip
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.wait(30)
    os.close(primary)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    assert proc.returncode == 0, text
    assert "━" in text and "3/3" in text  # rich's bar, complete
    assert "judge: 3 calls, 0 failed" in text
    assert not re.search(r"^\d+/3 rows, ", text, re.M)  # no plain lines on a terminal


def test_plain_lines_every_so_often_while_nothing_finishes() -> None:
    stream = io.StringIO()
    with Ticker(4, status=lambda: "judge: 1 call, 0 failed", every_s=0.05, stream=stream) as t:
        time.sleep(0.3)
        t.tick()
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3  # beats while the first row was in flight, then the end
    assert lines[0].startswith("0/4 rows, 0 s; judge: 1 call, 0 failed")
    assert lines[-1].startswith("1/4 rows, ")
    quiet = io.StringIO()
    with Ticker(4, enabled=False, stream=quiet) as t:
        t.tick()
    assert quiet.getvalue() == "" and t.done == 1


def test_local_defaults_only_on_this_machine_and_only_for_what_is_unset() -> None:
    judge, _ = judge_from_flags(
        url="https://judge.example.com/v1", model="m", settings={"max_tokens": 300}
    )
    assert judge == {"base_url": "https://judge.example.com/v1", "model": "m", "max_tokens": 300}
    local, _ = judge_from_flags(
        url="http://localhost:8080/v1", model="m", settings={"max_concurrency": 3}
    )
    assert local is not None
    assert local["max_concurrency"] == 3
    assert {k: local[k] for k in LOCAL_DEFAULTS if k != "max_concurrency"} == {
        k: v for k, v in LOCAL_DEFAULTS.items() if k != "max_concurrency"
    }
    with pytest.raises(InputError, match="a judge needs --judge-url too"):
        judge_from_flags(settings={"max_tokens": 10})
    with pytest.raises(InputError, match=r"judge\.max_tokens"):
        judge_from_flags(url="http://localhost:1/v1", model="m", settings={"max_tokens": 0})


def test_scorer_options_on_the_command_line() -> None:
    assert parse_scorer("token_f1") == ("token_f1", {})
    assert parse_scorer("rubric={name: x, criteria: 'a = b'}") == (
        "rubric",
        {"name": "x", "criteria": "a = b"},
    )
    with pytest.raises(InputError, match="options must be a mapping"):
        parse_scorer("rubric=[1, 2]")
    with pytest.raises(InputError, match="options are not YAML"):
        parse_scorer("rubric={name: x")


def test_bad_flags_and_a_local_scorer_file(tmp_path: Path) -> None:
    rows = write_rows(tmp_path / "rows.jsonl", 2)
    r = cujeval("score", "-i", str(rows), "-s", "rubric={name: x", "--no-progress")
    assert r.returncode == 2 and "field '--scorer': rubric: options are not YAML" in r.stderr
    r = cujeval("score", "-i", str(rows), "-s", "token_f1", "--judge-max-tokens", "5")
    assert r.returncode == 2 and "a judge needs --judge-url too" in r.stderr
    r = cujeval("score", "-i", str(rows), "-s", RUBRIC, "--judge-concurrency", "0")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    (tmp_path / "mine.py").write_text(
        "import cujeval\n\n\n@cujeval.scorer('says_sorry')\ndef says_sorry():\n"
        "    async def run(case, obs):\n"
        "        return {'says_sorry': cujeval.Score('sorry' in (obs.answer or '').lower())}\n"
        "    return run\n"
    )
    r = cujeval("score", "-i", str(rows), "-s", "says_sorry", "--plugin", "mine.py", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    values = [json.loads(x)["scores"]["says_sorry"]["value"] for x in r.stdout.splitlines()]
    assert values == [True, False]
    assert "0/2 rows" not in r.stderr and "2/2 rows" in r.stderr  # no judge: rows only
