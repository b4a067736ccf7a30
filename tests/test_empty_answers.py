"""Empty answers are bad answers: a streamed target's silence never passes the gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import cujeval, write_dataset


def suite(tmp_path: Path, url: str, every: int, n: int = 30) -> Path:
    write_dataset(tmp_path / "cases.jsonl", n)
    data = {
        "name": "silent",
        "targets": {
            "chat": {"kind": "openai", "base_url": f"{url}/silent/{every}/v1", "model": "m"}
        },
        "settings": {"retries": 0, "concurrency": 4},
        "journeys": [
            {
                "name": "j",
                "dataset": "cases.jsonl",
                "target": "chat",
                "instructions": [{"id": "product:max_words", "kwargs": {"max_words": 50}}],
                "scorers": ["error", "ttft_s", "instruction_following"],
                "slos": [
                    {"name": "follows", "good": "instruction_following == true", "target": 0.8},
                    {"name": "no-errors", "good": "error == false", "target": 0.8},
                ],
            }
        ],
    }
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(tmp_path: Path, path: Path) -> tuple[int, dict[str, Any], list[dict[str, Any]], str]:
    r = cujeval("run", str(path), "--no-mlflow", "--output", str(tmp_path / "o"))
    result = json.loads((tmp_path / "o" / "results.json").read_text())
    rows = [json.loads(x) for x in (tmp_path / "o" / "journal.jsonl").read_text().splitlines()]
    return r.returncode, result, rows, r.stdout + r.stderr


def test_a_server_that_streams_no_content_never_passes(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    code, _, rows, out = run(tmp_path, suite(tmp_path, url, every=1))
    # the target answered every call, with nothing: its quality, judged by the gate (exit 1)
    assert code == 1 and "--resume" not in out
    assert {r["observation"]["status"] for r in rows} == {"empty"}
    ttft = rows[0]["scores"]["ttft_s"]
    assert ttft["value"] is None


def test_some_empty_answers_fail_instructions_and_count_as_errors(
    tmp_path: Path, fault_server: Any
) -> None:
    url, _ = fault_server
    code, result, rows, _ = run(tmp_path, suite(tmp_path, url, every=2))
    assert code == 1
    journey = result["journeys"][0]
    assert journey["errors_by_status"] == {"empty": 15}
    slos = {s["name"]: s for s in journey["slos"]}
    assert slos["follows"]["n"] == 30 and slos["follows"]["good"] == 15  # empty = not followed
    assert slos["follows"]["verdict"] == "BREACHED" and slos["no-errors"]["verdict"] == "BREACHED"
    empty = next(r for r in rows if r["observation"]["status"] == "empty")
    assert empty["scores"]["instruction_following"]["value"] is False


def test_a_server_that_answers_is_unchanged(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    code, result, rows, _ = run(tmp_path, suite(tmp_path, url, every=10_000))
    # only question 0 is silent (0 is a multiple of everything): 29 of 30 answered
    assert {r["observation"]["status"] for r in rows} == {"ok", "empty"}
    slos = {s["name"]: s for s in result["journeys"][0]["slos"]}
    assert slos["follows"]["good"] == 29 and slos["follows"]["verdict"] == "MET"
    assert code == 0


def test_ttft_says_why_it_is_missing(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    _, _, rows, _ = run(tmp_path, suite(tmp_path, url, every=2, n=4))
    silent = next(r for r in rows if r["observation"]["status"] == "empty")
    assert silent["scores"]["ttft_s"]["explanation"].endswith("no content was streamed")
    spoken = next(r for r in rows if r["observation"]["status"] == "ok")
    assert spoken["scores"]["ttft_s"]["value"] > 0
    assert spoken["observation"]["finish_reason"] == "stop"
