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


def two_journeys(
    tmp_path: Path, hostile: Hostile, paths: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], Path, list[dict[str, Any]]]:
    """write_suite's journey ``j`` (fine answers), then one journey per ``paths`` entry
    (named by it, against that route); (process, folder, journal rows)."""
    journeys = [
        {
            "name": name,
            "dataset": "cases.jsonl",
            "target": name,
            "scorers": ["error"],
            "slos": [{"name": "no-errors", "good": "error == false", "target": 0.5}],
        }
        for name in paths
    ]
    targets = {name: {"kind": "http", "url": f"{hostile.url}{p}"} for name, p in paths.items()}
    proc, out = run(
        tmp_path,
        f"{hostile.url}/json",
        targets=targets,
        extra_journeys=journeys,
        settings={"retries": 0},
    )
    no_traceback(proc)
    journal = out / "journal.jsonl"
    rows = (
        [json.loads(line) for line in journal.read_text().splitlines()] if journal.exists() else []
    )
    return proc, out, rows


def test_a_lone_surrogate_in_an_answer_loses_nothing(tmp_path: Path, hostile: Hostile) -> None:
    """``"\\ud800"`` is valid JSON but no text: it is replaced where it enters (and the case
    says so), the run finishes, every case is in the journal and results.json is written."""
    proc, out, rows = two_journeys(tmp_path, hostile, {"surrogate": "/body/surrogate"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert len(rows) == 8 and (out / "results.json").is_file()
    answered = [r["observation"] for r in rows if r["journey"] == "surrogate"]
    assert [o["status"] for o in answered] == ["ok"] * 4
    assert answered[0]["answer"] == "caf\ufffd and \ufffd"
    assert answered[0]["contexts"][0]["text"] == "half \ufffd"
    assert answered[0]["model"] == "m\ufffd"
    assert answered[0]["notes"] == [
        "4 invalid characters (lone surrogate code points) in the target's text replaced by U+FFFD"
    ]


def test_odd_bytes_from_a_target_keep_junit_xml_and_html_readable(
    tmp_path: Path, hostile: Hostile
) -> None:
    """Answers holding NUL, ESC and U+FFFE; and a journey whose every call ends in a 500 with
    U+FFFE, NUL and ESC in its body, which ends the run (exit 3) with that body in the reason.
    junit.xml stays XML (it holds the reason), report.html shows the characters as marks."""
    import xml.etree.ElementTree as ET

    paths = {"control": "/body/control", "bytes": "/error-bytes"}
    proc, out, rows = two_journeys(tmp_path, hostile, paths)
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert len(rows) == 12
    assert [r["observation"]["status"] for r in rows if r["journey"] == "bytes"] == ["http_500"] * 4
    result = json.loads((out / "results.json").read_text())
    assert result["status"] == "aborted" and "upstream said \ufffe" in result["abort_reason"]
    junit = ET.parse(out / "junit.xml").getroot()  # parses: nothing XML 1.0 forbids is left
    reason = next(e.text for e in junit.iter("error") if "run incomplete" in (e.text or ""))
    assert reason is not None and "upstream said \\uFFFE" in reason
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not set("\x00\x1b\ufffe") & set(page)
    assert "a ␀ b ␛[31mred␛[0m \\uFFFE c" in page


def test_agent_tools_that_cannot_be_imported_exit_2_saying_where_it_looked(
    tmp_path: Path, hostile: Hostile
) -> None:
    for tools, said in (
        ("no_such_tools_module:make", "cannot import 'no_such_tools_module' (looked in"),
        ("json:no_such_factory", "'json' has no attribute 'no_such_factory'"),
    ):
        agent = {"tools": tools}
        target = {"kind": "openai", "base_url": f"{hostile.url}/v1/ok", "model": "m"}
        proc, _ = run(tmp_path, hostile.url, targets={"svc": {**target, "agent": agent}})
        no_traceback(proc)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert "field 'targets.svc.agent.tools'" in proc.stderr and said in proc.stderr


@pytest.mark.parametrize("name", ["../escape", "a/b", "j@baseline", ".hidden", "with space"])
def test_journey_names_are_checked_like_suite_names(
    tmp_path: Path, hostile: Hostile, name: str
) -> None:
    journey = {"name": name, "dataset": "cases.jsonl", "target": "svc", "scorers": ["error"]}
    proc, _ = run(tmp_path, f"{hostile.url}/json", extra_journeys=[journey])
    no_traceback(proc)
    assert proc.returncode == 2
    assert "suite.yaml:" in proc.stderr and "field 'journeys[1].name'" in proc.stderr


TOOLS_MODULE = """
TOUCHES = []


class Tools:
    schemas = [{"name": "touch", "description": "t", "parameters": {"type": "object"}}]

    def call(self, name, arguments):
        TOUCHES.append(name)
        return {"touched": len(TOUCHES)}


def make(case):
    return Tools()
"""


def test_one_message_asking_for_too_many_tool_calls_is_an_error_naming_the_count(
    tmp_path: Path, hostile: Hostile
) -> None:
    """The model asks for 100 tool calls at once: under the default cap (64) none runs and
    the case is an error naming the count; a target that allows 100 runs them."""
    (tmp_path / "flood_tools.py").write_text(TOOLS_MODULE)
    base = {"kind": "openai", "base_url": f"{hostile.url}/v1/flood-tools", "model": "m"}
    journeys = [
        {"name": name, "dataset": "cases.jsonl", "target": name, "scorers": ["error"]}
        for name in ("allowed", "capped")
    ]
    proc, out = run(
        tmp_path,
        f"{hostile.url}/json",
        targets={
            "allowed": {**base, "agent": {"tools": "flood_tools:make", "max_tool_calls": 100}},
            "capped": {**base, "agent": {"tools": "flood_tools:make"}},
        },
        extra_journeys=journeys,
    )
    no_traceback(proc)
    rows = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    allowed = [r["observation"] for r in rows if r["journey"] == "allowed"]
    assert [o["status"] for o in allowed] == ["ok"] * 4
    assert all(len(o["tool_calls"]) == 100 and o["answer"] == "done" for o in allowed)
    capped = [r["observation"] for r in rows if r["journey"] == "capped"]
    assert [o["status"] for o in capped] == ["tool_call_limit"] * 4
    assert all("asked for 100 tool calls" in o["error"] for o in capped)
    assert all("max_tool_calls = 64" in o["error"] for o in capped)
    assert all(not o.get("tool_calls") for o in capped)
