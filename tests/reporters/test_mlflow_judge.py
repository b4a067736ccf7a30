"""The LLM judge's account reaches MLflow: metrics of the journey run, on a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from tests.helpers import write_suite
from tests.judge_server import FakeJudge, fake_judge

from cujeval.pipeline import evaluate_sync
from cujeval.spec.options import RunOptions
from cujeval.spec.suite import load_suite
from cujeval.tracking.logger import log

__all__ = ["fake_judge"]

N = 4


def test_judge_calls_failures_and_tokens_are_journey_metrics(
    tmp_path: Path, fault_server: Any, fake_judge: FakeJudge, mlflow_server: str
) -> None:
    from mlflow.tracking import MlflowClient

    url, _ = fault_server
    path = write_suite(
        tmp_path,
        url=f"{url}/answer",
        n=N,
        scorers=["error", "llm_faithfulness"],
        slos=[{"name": "grounded", "good": "llm_faithfulness >= 0.8", "target": 0.5}],
        extra_journeys=[
            {
                "name": "plain",
                "dataset": "cases.jsonl",
                "target": "svc",
                "scorers": ["error"],
                "slos": [{"name": "ok", "good": "error == false", "target": 0.5}],
            }
        ],
    )
    suite = yaml.safe_load(path.read_text())
    # every answer is cut at max_tokens: each case's first judge call fails, nothing is retried
    fake_judge.mode = "max_tokens"
    suite["judge"] = {
        "base_url": fake_judge.base_url,
        "model": "gemma",
        "max_retries": 0,
        "max_tokens": 4,
        "cache_dir": str(tmp_path / "cache"),
    }
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    out = tmp_path / "o"
    result = evaluate_sync(
        load_suite(path), RunOptions(output_dir=out, progress=False, mlflow=False)
    )
    account = result.journeys[0].judge
    assert account is not None

    parent_id = log(result, out, tracking_uri=mlflow_server, traces=False)
    client = MlflowClient(tracking_uri=mlflow_server)
    runs = {
        r.data.tags["cujeval.journey"]: r
        for r in client.search_runs(
            [client.get_run(parent_id).info.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{parent_id}'",
        )
    }
    judged = runs["j"].data
    assert judged.params["judge_model"] == "gemma"
    assert judged.metrics["judge.calls"] == len(fake_judge.requests) == N
    assert judged.metrics["judge.judgements"] == N
    assert judged.metrics["judge.failed"] == N
    assert judged.metrics["judge.failures.max_tokens"] == N
    for reason in ("bad_json", "timeout", "refused", "server_error"):
        assert judged.metrics[f"judge.failures.{reason}"] == 0
    assert judged.metrics["judge.tokens"] == account["tokens"] > 0
    assert judged.metrics["n_scorer_errors"] == N
    plain = runs["plain"].data
    assert "judge_model" not in plain.params
    assert not any(name.startswith("judge.") for name in plain.metrics)
