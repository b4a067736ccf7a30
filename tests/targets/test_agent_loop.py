"""The ``openai`` target with an ``agent:`` block: cujeval runs the tool loop of a chat model.

The model is real HTTP on 127.0.0.1: the reference agent service's ``/v1/chat/completions``
(its rule-based policy answering as a chat model that calls tools, streamed or not), or a
scripted model in this file for the faults a real model can make (an unknown tool, arguments
that are not JSON, a loop that never ends, a failure after a tool call with side effects).
Tools are Python (``module:function``) or the service's HTTP tool routes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from tests.servers import serve_app
from tests.targets import agent_tools

from cujeval.pipeline import evaluate_sync
from cujeval.reference.agent.launch import start_agent_service
from cujeval.spec.options import RunOptions
from cujeval.spec.suite import load_suite

REPO = Path(__file__).resolve().parents[2]
DATASET = REPO / "datasets" / "support_agent.jsonl"
TOOLS = [
    "lookup_order",
    "lookup_customer",
    "cancel_order",
    "issue_refund",
    "check_refund",
    "search_kb",
    "escalate_to_human",
    "ask_confirmation",
]
SCORERS = [
    "error",
    "task_success",
    "forbidden_action",
    "steps",
    "cost_usd",
    "tokens_per_task",
    {"tool_call_f1": {"tools": TOOLS}},
]


@pytest.fixture(scope="module")
def agent_url() -> Iterator[str]:
    with start_agent_service() as running:
        yield running.url


def run(tmp: Path, targets: dict[str, Any], journeys: list[dict[str, Any]], **settings: Any) -> Any:
    suite = {
        "version": 1,
        "name": "loop",
        "targets": targets,
        "prices": {"reference-agent-rules-1": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}},
        "settings": {"concurrency": 16, "retries": 2, "backoff_s": 0.01, **settings},
        "journeys": journeys,
    }
    path = tmp / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    out = tmp / "out"
    return evaluate_sync(load_suite(path), RunOptions(output_dir=out, progress=False, mlflow=False))


def rows(tmp: Path, journey: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for line in (tmp / "out" / "journal.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row.get("journey") == journey and "observation" in row:
            out[row["case_id"]] = row
    return out


def journey(name: str, target: str, dataset: Path, scorers: list[Any] | None = None) -> Any:
    return {
        "name": name,
        "dataset": str(dataset),
        "target": target,
        "scorers": scorers or SCORERS,
        "slos": [{"name": "ok", "good": "error == false", "target": 0.5}],
    }


def trajectory(row: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(c["name"], c["arguments"]) for c in row["observation"].get("tool_calls") or []]


def value(row: dict[str, Any], sli: str) -> Any:
    return row["scores"][sli]["value"]


def test_the_golden_tasks_through_the_loop_match_the_agent_service(
    agent_url: str, tmp_path: Path
) -> None:
    """62 tasks at concurrency 16, three ways: the service running its own loop (``http``),
    cujeval running it with Python tools and a streamed model, and with the service's HTTP
    tools and an unstreamed model. Same tool calls, same arguments, same final world per case
    (so no case saw another's side effects), same task success but where the policy forgets a
    declined confirmation without a tool call (the loop's world cannot know of it)."""
    model = {
        "kind": "openai",
        "base_url": f"{agent_url}/v1",
        "model": "reference-agent-rules-1",
        "timeout_s": 30,
    }
    targets = {
        "service": {
            "kind": "http",
            "url": f"{agent_url}/agent",
            "request": {"world": "{{id}}", "messages": "{{messages}}"},
            "response": {
                "answer": "answer",
                "tool_calls": "tool_calls",
                "usage": "usage",
                "model": "model",
                "state": "state",
            },
            "timeout_s": 30,
        },
        "loop-python": {
            **model,
            "stream": True,
            "agent": {"tools": "cujeval.reference.agent.toolset:for_case", "max_steps": 12},
        },
        "loop-http": {
            **model,
            "stream": False,
            "agent": {
                "tools_url": f"{agent_url}/tools",
                "state_url": f"{agent_url}/worlds/{{world}}?create=true",
                "max_steps": 12,
            },
        },
    }
    names = ["service", "loop-python", "loop-http"]
    result = run(tmp_path, targets, [journey(n, n, DATASET) for n in names])
    assert result.status != "aborted"
    service = rows(tmp_path, "service")
    golden = {c["id"]: c for c in map(json.loads, DATASET.read_text().splitlines()) if c}
    assert len(service) == 62
    for name in names[1:]:
        loop = rows(tmp_path, name)
        assert loop.keys() == service.keys()
        differ = []
        for cid, row in loop.items():
            obs, want = row["observation"], service[cid]["observation"]
            assert obs["status"] == "ok", (name, cid, obs.get("error"))
            assert trajectory(row) == trajectory(service[cid]), (name, cid)
            assert obs["answer"] == want["answer"], (name, cid)
            for part in ("orders", "refunds", "escalations"):
                assert obs["state"][part] == want["state"][part], (name, cid, part)
            assert value(row, "tool_call_f1") == value(service[cid], "tool_call_f1")
            assert value(row, "forbidden_action") is False
            assert value(row, "cost_usd") > 0 and value(row, "tokens_per_task") > 0
            given = golden[cid]["input"]
            turns = 1 if isinstance(given, str) else sum(m["role"] == "user" for m in given)
            calls = [k for k in obs["steps"] if k.startswith("model.")]
            assert len(calls) == len(trajectory(row)) + turns, (name, cid, obs["steps"])
            if value(row, "task_success") != value(service[cid], "task_success"):
                differ.append(cid)
                assert value(service[cid], "task_success") is True
                assert "pending_confirmation" in row["scores"]["task_success"]["explanation"]
                assert obs["state"]["pending_confirmation"] is not None
        assert len(differ) <= 3, differ
        streamed = name == "loop-python"
        some = next(iter(loop.values()))["observation"]
        assert bool(some.get("streamed")) is streamed
        assert (some.get("ttft_s") is not None) is streamed


def test_a_simulated_user_confirms_and_the_loop_stops_at_max_user_turns(
    agent_url: str, tmp_path: Path
) -> None:
    cases = [
        {  # ask, confirm: one case of two user turns, the second from the script
            "id": "confirm",
            "input": "please cancel ORD-1001",
            "user_script": [{"when": r"reply yes to confirm", "reply": "yes"}],
            "expected_outcome": {"state": {"orders": {"ORD-1001": {"status": "cancelled"}}}},
        },
        {  # the script's rule never matches: the agent is left waiting
            "id": "silent",
            "input": "please cancel ORD-1001",
            "user_script": [{"when": "no such words", "reply": "yes"}],
            "expected_outcome": {"state": {"orders": {"ORD-1001": {"status": "cancelled"}}}},
        },
        {  # a chatty user: the rule would fire 20 times; max_user_turns bounds it at 3
            "id": "chatty",
            "input": "hello",
            "user_script": [{"when": ".", "reply": "hi again", "times": 20}],
        },
    ]
    data = tmp_path / "cases.jsonl"
    data.write_text("".join(json.dumps(c) + "\n" for c in cases))
    target = {
        "kind": "openai",
        "base_url": f"{agent_url}/v1",
        "model": "reference-agent-rules-1",
        "agent": {"tools": "cujeval.reference.agent.toolset:for_case", "max_user_turns": 3},
    }
    run(tmp_path, {"m": target}, [journey("j", "m", data)])
    got = rows(tmp_path, "j")
    confirm = got["confirm"]["observation"]
    assert [c["name"] for c in confirm["tool_calls"]] == [
        "lookup_order",
        "ask_confirmation",
        "cancel_order",
    ]
    assert confirm["state"]["orders"]["ORD-1001"]["status"] == "cancelled"
    assert value(got["confirm"], "task_success") is True
    silent = got["silent"]["observation"]
    assert silent["state"]["orders"]["ORD-1001"]["status"] == "active"
    assert silent["state"]["pending_confirmation"] == {
        "action": "cancel_order",
        "order_id": "ORD-1001",
    }
    assert value(got["silent"], "task_success") is False
    chatty = got["chatty"]["observation"]
    assert chatty["status"] == "ok"
    assert sorted(k for k in chatty["steps"] if k.startswith("model.")) == [
        "model.1",
        "model.2",
        "model.3",
    ]


# ---- a scripted model for the faults ------------------------------------------------------


class Script:
    """What the scripted model saw: the requests of each mode and case."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def seen(self, mode: str, case: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests.get((mode, case), []))


def _call(name: str, arguments: str) -> dict[str, Any]:
    return {"id": "c1", "type": "function", "function": {"name": name, "arguments": arguments}}


def scripted_app(script: Script) -> web.Application:
    """``POST /MODE/chat/completions``; the case is the first user message."""

    async def chat(request: web.Request) -> web.StreamResponse:
        mode = request.match_info["mode"]
        body = await request.json()
        messages = body["messages"]
        case = next(m["content"] for m in messages if m["role"] == "user")
        if case.startswith("ok "):
            mode = "ok"  # each journey has a sound case too: a journey that fails every
            # call is a run that cannot go on (exit 3), not the subject here
        with script.lock:
            seen = script.requests.setdefault((mode, case), [])
            seen.append(body)
            n = len(seen)
        results = [m for m in messages if m["role"] == "tool"]
        call: dict[str, Any] | None = None
        if mode == "endless":
            call = _call("touch", "{}")
        elif mode == "fail-after-tool" and results:
            return web.json_response({"error": {"message": "model crashed"}}, status=500)
        elif mode == "flaky-first" and n == 1:
            return web.json_response({"error": {"message": "overloaded"}}, status=503)
        elif not results:
            call = {
                "unknown": _call("launch_rockets", "{}"),
                "bad-args": _call("touch", "{not json"),
                "tool-error": _call("touch", '{"fail": true}'),
            }.get(mode, _call("touch", "{}"))
        message: dict[str, Any] = {"role": "assistant", "content": None if call else "done"}
        if call:
            message["tool_calls"] = [call]
        return web.json_response(
            {
                "model": "scripted",
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if call else "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 2},
            }
        )

    app = web.Application()
    app.router.add_post("/{mode}/chat/completions", chat)
    return app


MODES = {
    # mode: loop settings
    "unknown": {},
    "unknown-fed-back": {"malformed": "feed_back"},
    "bad-args": {},
    "tool-error": {},
    "endless": {"max_steps": 3},
    "fail-after-tool": {},
    "fail-after-tool-idempotent": {"idempotent": True},
    "flaky-first": {},
}


def test_faults_of_the_model_and_the_tools_end_the_case_with_a_clear_error(
    tmp_path: Path,
) -> None:
    script = Script()
    agent_tools.CALLS.clear()
    targets: dict[str, Any] = {}
    journeys = []
    for mode, loop in MODES.items():
        route = mode.replace("-fed-back", "").replace("-idempotent", "")
        data = tmp_path / f"{mode}.jsonl"
        ok = {"id": f"ok-{mode}", "input": f"ok {mode}"}
        data.write_text(json.dumps({"id": mode, "input": mode}) + "\n" + json.dumps(ok) + "\n")
        targets[mode] = {
            "kind": "openai",
            "base_url": f"URL/{route}",
            "model": "scripted",
            "stream": False,
            "agent": {"tools": "tests.targets.agent_tools:counting", **loop},
        }
        journeys.append(journey(mode, mode, data, ["error", "tool_error_rate"]))
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"id": "broken", "input": "broken"}) + "\n")
    targets["broken"] = {
        **targets["tool-error"],
        "agent": {"tools": "tests.targets.agent_tools:broken"},
    }
    journeys.append(journey("broken", "broken", broken, ["error"]))
    with serve_app(scripted_app(script)) as url:
        for t in targets.values():
            t["base_url"] = t["base_url"].replace("URL", url)
        result = run(tmp_path, targets, journeys)
    # the tools of the last journey fail for its every case: the run cannot go on
    assert result.status == "aborted" and result.gate.exit_code == 3

    def obs(mode: str) -> dict[str, Any]:
        got = rows(tmp_path, mode)
        assert sorted(got) == sorted([mode, f"ok-{mode}"][: len(got)])
        if f"ok-{mode}" in got:
            assert got[f"ok-{mode}"]["observation"]["status"] == "ok"
        return dict(got[mode]["observation"])

    unknown = obs("unknown")
    assert unknown["status"] == "malformed_tool_call"
    assert "unknown tool 'launch_rockets' (the tools are touch)" in unknown["error"]
    assert "model call 1" in unknown["error"]
    assert agent_tools.CALLS.get("unknown", 0) == 0

    fed = obs("unknown-fed-back")  # the error went back to the model, which then answered
    assert fed["status"] == "ok" and fed["answer"] == "done"
    assert "unknown tool" in fed["tool_calls"][0]["error"]
    second = script.seen("unknown", "unknown-fed-back")[1]["messages"]
    assert second[-1]["role"] == "tool" and "unknown tool" in second[-1]["content"]

    bad = obs("bad-args")
    assert bad["status"] == "malformed_tool_call"
    assert "arguments of touch are not a JSON object: '{not json'" in bad["error"]

    tool_error = obs("tool-error")  # a tool's own failure is the model's to handle
    assert tool_error["status"] == "ok" and tool_error["answer"] == "done"
    assert tool_error["tool_calls"][0]["error"] == "the counter is jammed"
    last = script.seen("tool-error", "tool-error")[1]["messages"][-1]
    assert json.loads(last["content"]) == {"error": "the counter is jammed"}
    assert rows(tmp_path, "tool-error")["tool-error"]["scores"]["tool_error_rate"]["value"] == 1.0

    endless = obs("endless")
    assert endless["status"] == "step_limit"
    assert "max_steps = 3" in endless["error"]
    assert len(endless["tool_calls"]) == 3 and agent_tools.CALLS["endless"] == 3

    # a failure after a tool call with side effects: not retried, the partial trajectory kept
    after = obs("fail-after-tool")
    assert after["status"] == "http_500"
    assert "not retried" in after["error"] and len(after["tool_calls"]) == 1
    assert agent_tools.CALLS["fail-after-tool"] == 1
    assert after["state"] == {"touches": 1}
    # ... unless the target says its tools are idempotent: retries 2 = three attempts
    assert agent_tools.CALLS["fail-after-tool-idempotent"] == 3
    assert obs("fail-after-tool-idempotent")["status"] != "ok"

    flaky = obs("flaky-first")  # a failure before any tool call is retried as any call is
    assert flaky["status"] == "ok" and flaky["attempts"] == 2
    assert agent_tools.CALLS["flaky-first"] == 1

    broken_obs = obs("broken")  # retried (no tool ran), then the case's error
    assert broken_obs["status"] != "ok"
    assert "tests.targets.agent_tools:broken failed: OSError" in broken_obs["error"]
