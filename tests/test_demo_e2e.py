"""The bundled suite end to end against the bundled reference RAG service over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cujeval._util.paths import project_root
from cujeval.pipeline import evaluate_sync
from cujeval.spec.options import RunOptions
from cujeval.spec.suite import load_suite
from tests.helpers import cujeval

SUITE = project_root() / "suites" / "support_rag.yaml"


def test_bundled_suite_against_reference_service(
    rag_service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUJEVAL_RAG_URL", rag_service)
    result = evaluate_sync(
        load_suite(SUITE),
        RunOptions(output_dir=tmp_path / "run", progress=False, mlflow=False, limit=30),
    )
    assert result.status == "completed"
    grounded, cited = result.journeys
    assert grounded.n_rows == 30 and grounded.n_errors == 0 and cited.n_rows == 30
    slis = {s.name: s for s in grounded.slis}
    assert {
        "faithfulness",
        "hallucination",
        "precision@4",
        "ndcg@4",
        "cost_usd",
        "answer_similarity",
        "latency_s",
    } <= set(slis)
    assert slis["hit_rate@4"].mean is not None and slis["hit_rate@4"].mean > 0.8
    assert slis["cost_usd"].n == 30 and (slis["cost_usd"].mean or 0) > 0
    assert "ttft_s" in {s.name for s in cited.slis}
    assert any(s.name.startswith("instruction:") for s in cited.slis)
    slos = {s.name: s for s in grounded.slos}
    assert slos["no-errors"].good == slos["no-errors"].n == 30
    assert slos["no-errors"].verdict == "INCONCLUSIVE"  # 30 of 30 cannot show >= 95 % yet
    assert (slos["no-errors"].cases_to_decide or 0) > 0
    # the clean service answers from its passages: few answers may look hallucinated
    assert (slos["hallucination-free"].estimate or 0) >= 0.8
    assert (slos["answers-grounded"].estimate or 0) >= 0.8
    assert result.price_table["source"]
    rows = [json.loads(x) for x in (tmp_path / "run" / "journal.jsonl").read_text().splitlines()]
    row = next(r for r in rows if r["journey"] == "grounded-answer")
    assert row["observation"]["contexts"] and row["observation"]["usage"]["prompt_tokens"] > 0


def test_demo_with_faults_breaches_and_exits_1(tmp_path: Path) -> None:
    r = cujeval(
        "demo",
        "--journey",
        "rag",
        "--faults",
        "error_rate=0.5,hallucination_rate=0.5",
        "--limit",
        "40",
        "--no-mlflow",
        "--no-progress",
        "--output",
        str(tmp_path / "run"),
        cwd=tmp_path,
    )
    assert r.returncode == 1, r.stderr[-2000:]
    assert "grounded-answer/no-errors BREACHED" in r.stdout
    assert "grounded-answer/hallucination-free BREACHED" in r.stdout
    assert "gate FAILED" in r.stdout
    for name in ("results.json", "junit.xml", "summary.md", "report.html", "journal.jsonl"):
        assert (tmp_path / "run" / "support_rag" / name).exists(), name
    assert not (tmp_path / "run" / "support_agent").exists()
    result = json.loads((tmp_path / "run" / "support_rag" / "results.json").read_text())
    blocking = result["gate"]["blocking"]
    assert "grounded-answer/no-errors BREACHED" in blocking


def test_demo_runs_both_reference_journeys(tmp_path: Path) -> None:
    r = cujeval(
        "demo",
        "--limit",
        "20",
        "--no-mlflow",
        "--no-progress",
        "--output",
        str(tmp_path / "run"),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    for suite in ("support_rag", "support_agent"):
        result = json.loads((tmp_path / "run" / suite / "results.json").read_text())
        assert result["status"] == "completed" and result["gate"]["passed"], suite


def test_agent_fault_breaches_the_slo_it_should(tmp_path: Path) -> None:
    r = cujeval(
        "demo",
        "--journey",
        "agent",
        "--faults",
        "forbidden_refund=0.5",
        "--no-mlflow",
        "--no-progress",
        "--output",
        str(tmp_path / "run"),
        cwd=tmp_path,
    )
    assert r.returncode == 1, r.stderr[-2000:]
    assert "order-task/no-forbidden-action BREACHED" in r.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("error_rate=0.5", {"rag": {"error_rate": 0.5}, "agent": {}}),
        ("wrong_tool=0.2", {"rag": {}, "agent": {"wrong_tool": 0.2}}),
        ("latency_ms=100", {"rag": {"latency_ms": 100}, "agent": {"latency_ms": 100}}),
        ("agent.latency_ms=100", {"rag": {}, "agent": {"latency_ms": 100}}),
    ],
)
def test_fault_knobs_go_to_the_service_that_has_them(
    text: str, expected: dict[str, dict[str, float]]
) -> None:
    from cujeval.cli.demo import parse_faults

    assert parse_faults(text) == expected


def test_unknown_or_bad_fault_is_bad_input() -> None:
    from cujeval.cli.demo import parse_faults
    from cujeval.errors import InputError

    with pytest.raises(InputError, match="did you mean 'wrong_tool'"):
        parse_faults("wrong_tol=0.2")
    with pytest.raises(InputError, match="0 <= VALUE <= 1"):
        parse_faults("wrong_tool=2")
