"""The real command line against hostile targets on 127.0.0.1: big answers pass, broken HTTP
and cross-origin redirects are per-case errors (exit 1 or 3, results kept, no traceback), bad
bytes in a dataset exit 2 with file:line, and no secret reaches any output."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import cujeval, write_suite
from tests.hostile_server import Hostile, serve_hostile

SECRET = "Zq7-hostile-s3cret-Kx"


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    with serve_hostile() as servers:
        yield servers


def run(
    tmp_path: Path, url: str, env: dict[str, str] | None = None, **suite: Any
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``cujeval run`` of a suite of four cases against ``url``; (process, output folder)."""
    settings = {"retries": 1, "backoff_s": 0.01, **suite.pop("settings", {})}
    path = write_suite(tmp_path, url=url, n=4, settings=settings, **suite)
    out = tmp_path / "out"
    proc = cujeval(
        "run",
        str(path),
        "--output",
        str(out),
        "--no-mlflow",
        "--no-progress",
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
    )
    return proc, out


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]


def statuses(out: Path) -> list[str]:
    rows = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    return [r["observation"]["status"] for r in rows if "observation" in r]


def test_a_2_mb_answer_passes(tmp_path: Path, hostile: Hostile) -> None:
    proc, out = run(tmp_path, f"{hostile.url}/json?size=2000000")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert statuses(out) == ["ok"] * 4


def test_a_malformed_status_line_is_a_per_case_error(tmp_path: Path, hostile: Hostile) -> None:
    proc, out = run(tmp_path, f"{hostile.raw_url}/bad-status?q2={SECRET}")
    no_traceback(proc)
    assert proc.returncode in (1, 3), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (out / "results.json").is_file()
    assert SECRET not in proc.stdout + proc.stderr


def test_a_redirect_to_another_port_is_refused(tmp_path: Path, hostile: Hostile) -> None:
    before = len(hostile.log.other)
    proc, out = run(tmp_path, f"{hostile.url}/redirect/to-other?code=307")
    no_traceback(proc)
    assert proc.returncode in (1, 3), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (out / "results.json").is_file()
    assert set(statuses(out)) <= {"redirect"} and len(hostile.log.other) == before


def test_invalid_utf8_in_the_dataset_exits_2_with_file_and_line(
    tmp_path: Path, hostile: Hostile
) -> None:
    path = write_suite(tmp_path, url=f"{hostile.url}/json", n=3)
    lines = (tmp_path / "cases.jsonl").read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"question", b"qu\xe9stion")
    (tmp_path / "cases.jsonl").write_bytes(b"".join(lines))
    proc = cujeval("run", str(path), "--no-mlflow", "--no-progress", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
    assert "cases.jsonl:3:" in proc.stderr and "not UTF-8" in proc.stderr


@pytest.mark.parametrize(
    ("server", "path", "extra", "seen"),
    [
        ("url", "/json?size=300000", {}, '"status": "ok"'),
        ("url", "/echo-error", {}, "HTTP 500"),
        ("raw_url", "/bad-status", {}, "malformed HTTP response"),
        ("url", "/redirect/to-other", {"redirects": "same-origin"}, "another origin"),
    ],
)
def test_no_secret_reaches_any_output(
    tmp_path: Path, hostile: Hostile, server: str, path: str, extra: dict[str, str], seen: str
) -> None:
    """A secret in an innocently named query parameter, in an X-Api-Key header from the
    environment, in a header set from ${VAR}, and in URL userinfo; against a target that
    answers, one whose 500 echoes the request back (headers and all), a broken status line
    and a cross-origin redirect. Not one output holds any of them."""
    host = getattr(hostile, server).removeprefix("http://")
    sep = "&" if "?" in path else "?"
    target = {
        "kind": "http",
        "url": f"http://user:pw-{SECRET}@{host}{path}{sep}q2={SECRET}",
        "api_key_env": "HOSTILE_API_KEY",
        "api_key_header": "X-Api-Key",
        "api_key_prefix": "",
        "headers": {"X-Tenant-Token": "${HOSTILE_HEADER}"},
        "timeout_s": 5,
        **extra,
    }
    proc, out = run(
        tmp_path,
        target["url"],
        targets={"svc": target},
        env={"HOSTILE_API_KEY": f"key-{SECRET}", "HOSTILE_HEADER": f"hdr-{SECRET}"},
    )
    no_traceback(proc)
    assert proc.returncode in (0, 1, 3), proc.stdout[-2000:] + proc.stderr[-2000:]
    outputs = {"stdout": proc.stdout, "stderr": proc.stderr}
    files = [p for p in out.rglob("*") if p.is_file()]
    reports = {"results.json", "journal.jsonl", "summary.md", "report.html", "junit.xml"}
    assert reports <= {p.name for p in files}
    for p in files:
        outputs[str(p.relative_to(out))] = p.read_bytes().decode("utf-8", "replace")
    basic = base64.b64encode(f"user:pw-{SECRET}".encode()).decode()
    for where, text in outputs.items():
        assert SECRET not in text, f"the secret is in {where}"
        assert basic not in text, f"the Basic credentials are in {where}"
    assert seen in outputs["journal.jsonl"]  # the run met the behaviour it was meant to
