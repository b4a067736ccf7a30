"""results.json round trip, JUnit XML and the Markdown summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tests.helpers import write_suite

from cujeval.pipeline import evaluate_sync
from cujeval.reporters import junit, markdown
from cujeval.spec.options import RunOptions
from cujeval.spec.results import RunResult
from cujeval.spec.suite import load_suite


def make(tmp_path: Path, url: str, **kw: Any) -> RunResult:
    suite = write_suite(tmp_path, url=url, **kw)
    return evaluate_sync(
        load_suite(suite), RunOptions(output_dir=tmp_path / "o", progress=False, mlflow=False)
    )


def test_junit_one_testcase_per_slo(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    result = make(tmp_path, f"{url}/some/500", n=10, settings={"retries": 0})
    root = ET.parse(junit.write(result, tmp_path)).getroot()
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["no-errors", "fast"]
    failure = cases[0].find("failure")
    assert failure is not None and "no-errors BREACHED" in (failure.get("message") or "")
    assert root.find("testsuite").get("failures") == "1"  # type: ignore[union-attr]


def test_markdown_and_round_trip(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    result = make(tmp_path, f"{url}/answer", n=30)
    text = markdown.render(result)
    assert "gate passed" in text and "| no-errors |" in text and "MET" in text
    again = RunResult.model_validate_json(result.model_dump_json())
    assert again == result and again.schema_version == 3
    slo = again.journeys[0].slos[0]
    assert {slo.name, slo.verdict} == {"no-errors", "MET"} and slo.n == 30
    assert slo.lower is not None and slo.upper is not None and slo.target == 0.9


def test_a_version_2_results_file_is_read_with_typed_reasons() -> None:
    """Older runs (a baseline logged before the gate's reasons were typed) still read."""
    doc = {
        "schema_version": 2,
        "run_id": "r",
        "suite": "s",
        "suite_path": "s.yaml",
        "started_at": "t",
        "finished_at": "t",
        "status": "completed",
        "cujeval_version": "0.1.0",
        "settings": {},
        "journeys": [],
        "gate": {
            "passed": False,
            "exit_code": 1,
            "policy": "gate=interval",
            "blocking": ["j/x BREACHED", "j/y error budget exhausted: 3 bad of 2 allowed"],
            "warnings": [],
            "slos": [
                {"journey": "j", "slo": "x", "verdict": "BREACHED", "action": "block",
                 "reason": "breached"},
            ],
        },
    }  # fmt: skip
    result = RunResult.model_validate(doc)
    kinds = [(r.kind, r.journey, r.slo) for r in result.gate.reasons]
    assert kinds == [("breached", "j", "x"), ("budget_exhausted", None, None)]
    assert result.gate.blocking == doc["gate"]["blocking"]  # type: ignore[index]


def test_markdown_escapes_pipes(tmp_path: Path, fault_server: tuple[str, Any]) -> None:
    url, _ = fault_server
    result = make(
        tmp_path,
        f"{url}/answer",
        n=3,
        slos=[{"name": "a|b", "good": "error == false", "target": 0.5}],
    )
    assert "a\\|b" in markdown.render(result)


def test_html_escapes_untrusted_output(tmp_path: Path) -> None:
    from tests.helpers import write_dataset

    from cujeval.reporters import html

    del write_dataset
    suite = tmp_path / "s.yaml"
    (tmp_path / "d.jsonl").write_text('{"id": "x<1>", "input": "<b>q</b>"}\n')
    suite.write_text(
        "name: h\ntargets:\n"
        "  p: {kind: python, callable: 'tests.reporters.test_text_reports:evil'}\n"
        "journeys:\n  - {name: j, dataset: d.jsonl, target: p, scorers: [error]}\n"
    )
    result = evaluate_sync(
        load_suite(suite), RunOptions(output_dir=tmp_path / "o", progress=False, mlflow=False)
    )
    page = html.write(result, tmp_path / "o").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;q&lt;/b&gt;" in page and "x&lt;1&gt;" in page


def evil(case: object) -> str:
    return "<script>alert(1)</script>"


def answer_ok(case: object) -> str:
    return "fine"


def test_markdown_escapes_untrusted_names(tmp_path: Path) -> None:
    """Case ids, journey and SLO names come from datasets and suites: in summary.md they show
    as typed and never become HTML or Markdown. (A suite file cannot name a journey so; a
    suite built in code, or an older results.json, can.)"""
    import json

    import yaml

    ids = ["<script>alert(1)</script>", "</details><img src=x onerror=alert(2)>", "**b**|[l](x)"]
    (tmp_path / "d.jsonl").write_text(
        "".join(json.dumps({"id": i, "input": "q"}) + "\n" for i in ids)
    )
    suite = {
        "name": "s_b",
        "targets": {"p": {"kind": "python", "callable": f"{__name__}:answer_ok"}},
        "journeys": [
            {
                "name": "j",
                "dataset": "d.jsonl",
                "target": "p",
                "scorers": ["latency_s"],
                "slos": [{"name": "never_*fast*", "good": "latency_s <= 0", "target": 0.9}],
            }
        ],
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(suite))
    loaded = load_suite(tmp_path / "s.yaml")
    journey = loaded.journeys[0].model_copy(update={"name": "j</details>"})
    loaded = loaded.model_copy(update={"journeys": (journey,)})
    result = evaluate_sync(
        loaded, RunOptions(output_dir=tmp_path / "o", progress=False, mlflow=False)
    )
    text = markdown.render(result)
    assert result.journeys[0].slos[0].verdict == "BREACHED"
    assert "<script>" not in text and "<img" not in text and "</details><" not in text
    assert text.count("</details>") == 1  # only the report's own
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "\\*\\*b\\*\\*\\|\\[l\\](x)" in text
    assert "never\\_\\*fast\\*" in text and "### j&lt;/details&gt;" in text
    assert "## cujeval · s\\_b:" in text
