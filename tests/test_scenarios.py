"""Degradation scenarios: the suite's ``degradations:`` checked with file:line errors, the
scenario runner switching a hook on and off around a run, and the bundled suite's scenarios
against the reference service (two held, one broken, as declared)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cujeval.engine.run import CaseEngine
from cujeval.errors import SuiteError
from cujeval.load.engine import LoadEngine
from cujeval.pipeline import evaluate
from cujeval.reporters import scenarios as table
from cujeval.scenarios import engine as scenarios
from cujeval.scenarios.engine import ScenarioEngine
from cujeval.spec.options import RunOptions
from cujeval.spec.records import GoldenCase, Observation
from cujeval.spec.suite import load_suite
from tests.helpers import cujeval

ROOT = Path(__file__).resolve().parents[1]

# A python target whose health a hook switches: the hook server below flips it.
DEGRADED = threading.Event()


def flaky_target(case: GoldenCase) -> Observation:
    """Healthy: answers. Degraded (the hook switched on): every third case fails."""
    if DEGRADED.is_set() and int(case.id.removeprefix("c")) % 3 == 0:
        return Observation(status="http_503", error="degraded")
    return Observation(answer=f"answer {case.id}", latency_s=0.001)


class _Hooks(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"null")
        type(self).calls.append((self.path, body))
        if self.path == "/broken":
            self.send_response(500)
            self.end_headers()
            return
        if self.path == "/on":
            DEGRADED.set()
        elif self.path == "/off":
            DEGRADED.clear()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def hooks() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _suite(tmp_path: Path, degradations: list[dict[str, Any]], n: int = 30) -> Path:
    data = tmp_path / "cases.jsonl"
    data.write_text("\n".join(json.dumps({"id": f"c{i}", "input": f"q{i}"}) for i in range(n)))
    suite = {
        "name": "degrade",
        "targets": {"t": {"kind": "python", "callable": "tests.test_scenarios:flaky_target"}},
        "journeys": [
            {
                "name": "j",
                "dataset": str(data),
                "target": "t",
                "scorers": ["error", "latency_s"],
                "slos": [
                    {"name": "no-errors", "good": "error == false", "target": 0.95},
                    {"name": "mostly-answers", "good": "error == false", "target": 0.5},
                    {"name": "fast", "objective": "p95(latency_s) <= 0.5"},
                ],
            }
        ],
        "degradations": degradations,
    }
    path = tmp_path / "suite.yaml"
    path.write_text(json.dumps(suite, indent=2))
    return path


def test_a_scenario_names_what_it_switches_and_what_must_hold(tmp_path: Path) -> None:
    cases = [
        ({"name": "x", "must_hold": ["no-errors"]}, "exactly one of 'faults' or 'hook'"),
        (
            {
                "name": "x",
                "faults": {},
                "hook": {"on": "http://a/on", "off": "http://a/off"},
                "must_hold": ["no-errors"],
            },
            "exactly one",
        ),
        ({"name": "x", "faults": {"error_rate": 1}, "must_hold": []}, "at least 1"),
        ({"name": "x", "hook": {"on": "ftp://a", "off": "http://a"}, "must_hold": ["a"]}, "http"),
        (
            {"name": "x", "faults": {}, "must_hold": [{"slo": "fast", "objective": "fast"}]},
            "cannot parse objective",
        ),
    ]
    for degradation, message in cases:
        with pytest.raises(SuiteError, match=message) as info:
            load_suite(_suite(tmp_path, [degradation]))
        assert "degradations" in str(info.value)


@pytest.mark.parametrize(
    ("must_hold", "message"),
    [
        (["no-such-slo"], "does not have"),
        ([{"slo": "fast", "target": 0.9}], "relax it with 'objective'"),
        ([{"slo": "no-errors", "objective": "p95(latency_s) <= 1"}], "relax it with 'target'"),
        ([{"slo": "fast", "objective": "p95(ttft_s) <= 1"}], "judges 'ttft_s'"),
    ],
)
def test_bad_references_name_the_line_of_the_must_hold_entry(
    tmp_path: Path, must_hold: list[Any], message: str
) -> None:
    suite = load_suite(_suite(tmp_path, [{"name": "x", "faults": {}, "must_hold": must_hold}]))
    with pytest.raises(SuiteError, match=message) as info:
        scenarios.check(suite)
    assert re.search(r"suite\.yaml:\d+: field 'degradations\[0\]\.must_hold\[0\]'", str(info.value))


def test_must_hold_slos_block_relaxed_and_the_others_only_inform(tmp_path: Path) -> None:
    suite = load_suite(
        _suite(
            tmp_path,
            [
                {
                    "name": "x",
                    "faults": {},
                    "must_hold": [
                        {"slo": "mostly-answers", "target": 0.3},
                        {"slo": "fast", "objective": "p95(latency_s) <= 2"},
                    ],
                }
            ],
        )
    )
    journey = scenarios.scenario_journey(suite, 0, suite.degradations[0])
    by = {s.name: s for s in journey.slos}
    assert by["no-errors"].blocking is False and by["no-errors"].target == 0.95
    assert by["mostly-answers"].blocking is True and by["mostly-answers"].target == 0.3
    assert by["fast"].objective == "p95(latency_s) <= 2"


def _run(suite_path: Path, tmp_path: Path, index: int) -> Any:
    suite = load_suite(suite_path)
    options = RunOptions(output_dir=tmp_path / f"s{index}", progress=False, mlflow=False)
    return suite, asyncio.run(evaluate(suite, options, engine=ScenarioEngine(index, CaseEngine())))


def test_the_hook_switches_the_scenario_on_for_the_run_and_off_after(
    tmp_path: Path, hooks: str
) -> None:
    _Hooks.calls.clear()
    path = _suite(
        tmp_path,
        [
            {
                "name": "partial-outage",
                "hook": {"on": f"{hooks}/on", "off": f"{hooks}/off"},
                "must_hold": ["mostly-answers"],
            },
            {
                "name": "strict-outage",
                "hook": {"on": f"{hooks}/on", "off": f"{hooks}/off", "body": {"k": 1}},
                "must_hold": ["no-errors"],
            },
        ],
    )
    suite, held = _run(path, tmp_path, 0)
    assert [c[0] for c in _Hooks.calls] == ["/on", "/off"]
    assert _Hooks.calls[0][1] == {"scenario": "partial-outage", "state": "on"}
    assert not DEGRADED.is_set()
    # 10 of the 30 cases failed while degraded: 2/3 answered holds a 0.5 target
    assert held.gate.exit_code == 0
    assert {s.name: s.verdict for s in held.journeys[0].slos}["no-errors"] == "BREACHED"
    assert held.gate.action("j", "no-errors") == "warn"  # informational here

    _, broken = _run(path, tmp_path, 1)
    assert _Hooks.calls[-1] == ("/off", {"k": 1})
    assert broken.gate.exit_code == 1
    assert broken.gate.blocking == ["j/no-errors BREACHED"]
    report = table.table(suite, {"partial-outage": held, "strict-outage": broken})
    assert [r["outcome"] for r in report["scenarios"]] == ["HELD", "BROKEN"]
    assert report["exit_code"] == 1
    text = table.render(report)
    assert "| partial-outage | HELD |" in text and "BREACHED*!" in text


def test_a_switch_that_fails_runs_nothing_and_is_incomplete(tmp_path: Path, hooks: str) -> None:
    _Hooks.calls.clear()
    path = _suite(
        tmp_path,
        [
            {
                "name": "x",
                "hook": {"on": f"{hooks}/broken", "off": f"{hooks}/off"},
                "must_hold": ["fast"],
            }
        ],
    )
    suite, result = _run(path, tmp_path, 0)
    assert [c[0] for c in _Hooks.calls] == ["/broken"]
    assert result.status == "aborted" and result.gate.exit_code == 3
    assert "HTTP 500" in (result.abort_reason or "")
    assert table.table(suite, {"x": result})["scenarios"][0]["outcome"] == "INCOMPLETE"


def test_the_bundled_suite_holds_two_scenarios_and_breaks_one(
    tmp_path: Path, rag_service: str
) -> None:
    """Against the reference service: a slow retriever and a retriever outage with the
    fallback hold their must-hold SLOs; the outage without the fallback invents answers with
    no source, so cites-or-declines is BREACHED and the command exits 1."""
    out = tmp_path / "scen"
    env = {**os.environ, "CUJEVAL_RAG_URL": rag_service}
    proc = cujeval(
        "scenarios",
        str(ROOT / "suites" / "support_rag_degradation.yaml"),
        "--limit",
        "30",
        "-o",
        str(out),
        env=env,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads((out / "scenarios.json").read_text())
    outcome = {r["scenario"]: r["outcome"] for r in report["scenarios"]}
    assert outcome == {
        "retriever-slow": "HELD",
        "retriever-down": "HELD",
        "retriever-down-no-fallback": "BROKEN",
    }
    broken = report["scenarios"][2]
    assert broken["blocking"] == ["grounded-answer/cites-or-declines BREACHED"]
    assert "| retriever-down-no-fallback | BROKEN |" in proc.stdout
    # the service is back to its own knobs afterwards
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{rag_service}/admin/faults", timeout=30) as response:
        knobs = json.load(response)
    assert knobs["retriever_down"] == 0.0 and knobs["fallback"] is True
    assert knobs["retriever_latency_ms"] == 0.0


def test_a_scenario_can_run_under_load(tmp_path: Path, hooks: str) -> None:
    from cujeval.load.profile import LoadProfile, LoadStep

    _Hooks.calls.clear()
    path = _suite(
        tmp_path,
        [
            {
                "name": "outage-under-load",
                "hook": {"on": f"{hooks}/on", "off": f"{hooks}/off"},
                "must_hold": ["mostly-answers"],
            }
        ],
    )
    suite = load_suite(path)
    options = RunOptions(output_dir=tmp_path / "l", progress=False, mlflow=False)
    profile = LoadProfile(steps=(LoadStep(30, 1.0),), metrics_url="")
    result = asyncio.run(evaluate(suite, options, engine=ScenarioEngine(0, LoadEngine(profile))))
    assert [c[0] for c in _Hooks.calls] == ["/on", "/off"]
    assert result.load is not None and result.load["steps"][0]["traffic"]["scheduled"] == 30
    assert result.load["steps"][0]["errors"]["by_kind"] == {"http_503": 10}
    assert result.gate.exit_code == 0
    brief = table.table(suite, {"outage-under-load": result})["scenarios"][0]["load"]
    assert brief["error_rate"] == 10 / 30
