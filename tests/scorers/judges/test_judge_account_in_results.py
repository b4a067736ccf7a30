"""The runner keeps the judge's account in results.json for journeys with a judge scorer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from tests.helpers import write_suite
from tests.judge_server import FakeJudge

from cujeval.pipeline import evaluate_sync
from cujeval.spec.options import RunOptions
from cujeval.spec.suite import load_suite


def test_results_carry_the_judges_account_only_where_a_judge_scored(
    tmp_path: Path, fault_server: Any, fake_judge: FakeJudge
) -> None:
    url, _ = fault_server
    path = write_suite(
        tmp_path,
        url=f"{url}/answer",
        n=4,
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
    suite["judge"] = {
        "base_url": fake_judge.base_url,
        "model": "gemma",
        "max_retries": 0,
        "cache_dir": str(tmp_path / "cache"),
    }
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    result = evaluate_sync(
        load_suite(path), RunOptions(output_dir=tmp_path / "o", progress=False, mlflow=False)
    )
    judged, plain = result.journeys
    assert judged.judge is not None and judged.judge["calls"] == len(fake_judge.requests) > 0
    assert plain.judge is None
