"""Two cujeval journey runs are valid input to MLflow's own paired comparison of evaluation
runs (``mlflow.genai.compare_evaluations``, new in MLflow 3.18), and it agrees with
``cujeval compare`` on what changed.

A clean and a faulted demo run of the bundled RAG journey are logged to a real ``mlflow server``
(the pinned MLflow 3.17.2), each written to a folder of the same name, as a CI job writing
``-o reports/pr`` on every pull request does; MLflow 3.18's client (mlflow-skinny 3.18.0, which
``make`` installs into ``.venv/mlflow-3.18``: the full mlflow 3.18.0 needs an mlflow-tracing
release the index does not serve) compares them over REST.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.helpers import cujeval

from cujeval.tracking.history import client

NEXT = Path(sys.prefix) / "mlflow-3.18"

COMPARE = """
import json, sys, warnings
warnings.simplefilter("ignore")
import mlflow
assert mlflow.__version__ == "3.18.0", mlflow.__version__
r = mlflow.genai.compare_evaluations(candidate_run_id=sys.argv[2], baseline_run_id=sys.argv[1])
print(json.dumps({
    "paired": len(r.paired_rows),
    "unpaired": len(r.unpaired_baseline_trace_ids) + len(r.unpaired_candidate_trace_ids),
    "scorers": {
        k: {"diff": v.diff, "p": v.p_value, "n": v.n_paired, "type": v.value_type}
        for k, v in r.scorers.items()
    },
}))
"""


@pytest.mark.slow
def test_compare_evaluations_pairs_cujeval_runs_case_by_case(
    tmp_path: Path, mlflow_server: str
) -> None:
    if not (NEXT / ".installed").exists():
        pytest.fail(f"MLflow 3.18's client is not installed in {NEXT}: run `make test`")
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server}
    journey_runs = []
    for faults in ("", "error_rate=0.3"):
        out = tmp_path / (faults or "clean")  # both runs land in .../support_rag/
        args = ["demo", "--journey", "rag", "--limit", "40", "--no-progress", "-o", str(out)]
        r = cujeval(*args, *(["--faults", faults] if faults else []), env=env)
        assert r.returncode in (0, 1), r.stderr[-3000:]
        c = client(mlflow_server)
        exp = c.get_experiment_by_name("support_rag")
        run = c.search_runs(
            [exp.experiment_id],
            filter_string="tags.`cujeval.journey` = 'grounded-answer'",
            order_by=["attributes.start_time DESC"],
        )[0]
        # folders of one name, yet distinct run ids: each run keeps its own traces
        assert run.data.tags["cujeval.run_id"].startswith("support_rag-")
        journey_runs.append(run.info.run_id)
    ids = {c.get_run(r).data.tags["cujeval.run_id"] for r in journey_runs}
    assert len(ids) == 2
    baseline, candidate = journey_runs
    for run_id in journey_runs:  # each run keeps its own 40 traces
        traces = c.search_traces(locations=[exp.experiment_id], run_id=run_id)
        assert len(traces) == 40
        # the cost is MLflow's own trace cost too, where the case has one
        costs = [
            (json.loads(t.info.trace_metadata["mlflow.trace.cost"])["total_cost"], a.value)
            for t in traces
            for a in t.info.assessments
            if a.name == "cost_usd" and a.error is None
        ]
        assert costs and all(got == pytest.approx(want) for got, want in costs)

    p = subprocess.run(
        [sys.executable, "-c", COMPARE, baseline, candidate],
        env={**env, "PYTHONPATH": str(NEXT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["paired"] == 40 and got["unpaired"] == 0  # paired on mlflow.eval.requestId
    error = got["scorers"]["error"]
    assert error["type"] == "binary" and error["n"] == 40  # McNemar on a good/bad SLI
    assert error["diff"] > 0.1 and error["p"] < 0.05  # the fault: more errors
    for sli in ("precision@4", "recall@4", "mrr"):  # retrieval of answered cases: unchanged
        assert got["scorers"][sli]["diff"] == 0.0, sli

    # cujeval's own comparison of the same two runs says the same
    r = cujeval(
        "compare",
        str(tmp_path / "clean" / "support_rag" / "results.json"),
        str(tmp_path / "error_rate=0.3" / "support_rag" / "results.json"),
        env=env,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    line = next(x for x in r.stdout.splitlines() if "grounded-answer/no-errors" in x)
    assert "REGRESSED" in line
    # both McNemar's exact test over the same discordant pairs
    p_value = re.search(r"p=([0-9.e-]+)", line)
    assert p_value is not None and abs(float(p_value.group(1)) - error["p"]) < 5e-4
