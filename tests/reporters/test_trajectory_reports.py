"""An agent case's trajectory in the reports: step by step (tool, arguments, result, time,
error) beside each worst case in report.html, on one line in summary.md; escaped; nothing of
the kind for a RAG journey."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from tests.helpers import cujeval, write_suite
from tests.servers import serve_app

from cujeval.reference.agent.launch import start_agent_service

SUITE = Path(__file__).resolve().parents[2] / "suites" / "support_agent.yaml"


@pytest.fixture(scope="module")
def faulted_agent() -> Iterator[str]:
    with start_agent_service(faults={"tool_errors": 1.0}) as running:
        yield running.url


def test_worst_agent_cases_show_their_steps(faulted_agent: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "CUJEVAL_AGENT_URL": faulted_agent}
    done = cujeval(
        "run", str(SUITE), "--limit", "15", "--no-mlflow", "--no-progress", "-o", str(out),
        env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-2000:]
    result = json.loads((out / "results.json").read_text())
    slo = next(s for s in result["journeys"][0]["slos"] if s["name"] == "tool-errors")
    assert slo["verdict"] != "MET" and slo["worst_cases"]
    case = slo["worst_cases"][0]["case_id"]
    row = next(
        json.loads(line)
        for line in (out / "journal.jsonl").read_text().splitlines()
        if json.loads(line)["case_id"] == case
    )
    calls = row["observation"]["tool_calls"]
    assert calls[0]["error"] == "upstream timeout (injected fault)"

    html = (out / "report.html").read_text()
    assert f"trajectory ({len(calls)} tool calls)" in html
    first = calls[0]
    args = json.dumps(first["arguments"], sort_keys=True)
    assert f"<code>{first['name']}</code></td><td><code>{escape(args)}</code>" in html
    assert "<span class='err'>upstream timeout (injected fault)</span>" in html
    assert "final state" in html

    md = (out / "summary.md").read_text()
    line = next(x for x in md.splitlines() if x.startswith(f"- order-task/tool-errors: {case}"))
    shown = ", ".join(f"{k}={v}" for k, v in first["arguments"].items())
    assert f"steps: {first['name']}({shown}) ✗".replace("_", "\\_") in line


def _hostile_agent() -> web.Application:
    async def agent(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "answer": "done",
                "tool_calls": [
                    {
                        "name": "<script>alert(1)</script>",
                        "arguments": {"q": "<img src=x onerror=alert(2)>"},
                        "result": {"html": "</td></tr></table><b>bold</b>"},
                        "latency_s": 0.01,
                    }
                ],
                "state": {"note": "<iframe>"},
            }
        )

    app = web.Application()
    app.router.add_post("/agent", agent)
    return app


def test_hostile_steps_are_text_and_rag_reports_have_none(
    tmp_path: Path, fault_server: Any
) -> None:
    data = tmp_path / "cases.jsonl"
    data.write_text(json.dumps({"id": "x1", "input": "hi", "expected_tool_calls": [
        {"name": "lookup_order"}]}) + "\n")  # fmt: skip
    with serve_app(_hostile_agent()) as url:
        suite = {
            "name": "hostile",
            "targets": {
                "a": {
                    "kind": "http",
                    "url": f"{url}/agent",
                    "response": {"answer": "answer", "tool_calls": "tool_calls", "state": "state"},
                }
            },
            "journeys": [
                {
                    "name": "j",
                    "dataset": str(data),
                    "target": "a",
                    "scorers": ["error", {"tool_call_f1": {"tools": ["lookup_order"]}}],
                    "slos": [{"name": "tools", "good": "tool_call_f1 >= 0.5", "target": 0.5}],
                }
            ],
        }
        path = tmp_path / "suite.yaml"
        path.write_text(yaml.safe_dump(suite))
        out = tmp_path / "out"
        done = cujeval("run", str(path), "--no-mlflow", "--no-progress", "-o", str(out))
    assert done.returncode in (0, 1), done.stderr
    html = (out / "report.html").read_text()
    assert "trajectory (1 tool calls)" in html
    assert "<script>alert" not in html and "<img src" not in html and "<iframe>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html
    md = (out / "summary.md").read_text()
    assert "<script>" not in md and "steps: &lt;script&gt;" in md

    (tmp_path / "rag").mkdir()
    rag = write_suite(tmp_path / "rag", url=f"{fault_server[0]}/answer", n=5)
    rag_out = tmp_path / "rag-out"
    done = cujeval("run", str(rag), "--no-mlflow", "--no-progress", "-o", str(rag_out))
    assert done.returncode in (0, 1), done.stderr
    assert "trajectory" not in (rag_out / "report.html").read_text()
    assert not re.search(r"steps: ", (rag_out / "summary.md").read_text())
