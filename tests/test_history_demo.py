"""The bundled RAG suite end to end with history: a clean and a faulted demo run logged to an
MLflow store of their own; `cujeval budget suites/support_rag.yaml` names the faulted run as
the one that spent most; with a budget policy, a third, clean run fails the gate while the
budget is exhausted; `cujeval report suites/support_rag.yaml` draws the three runs, read off
the page as headless Chromium renders it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from cujeval._util.paths import project_root
from tests.chromium import charts, dump_dom
from tests.helpers import cujeval

SUITE = project_root() / "suites" / "support_rag.yaml"


@pytest.mark.slow
def test_budget_after_clean_and_faulted_demo(tmp_path: Path) -> None:
    from cujeval.reference.launch import start_rag_service

    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "CUJEVAL_MLFLOW_TRACES": "0",  # traces are tested elsewhere; keep this one quick
    }
    runs = []
    for faults in ("", "error_rate=0.5"):
        args = ["demo", "--journey", "rag", "--limit", "30", "--no-progress"]
        if faults:
            args += ["--faults", faults]
        before = set((tmp_path / "reports" / "support_rag").glob("*"))
        r = cujeval(*args, cwd=tmp_path, env=env, timeout=900)
        assert r.returncode in ((1,) if faults else (0, 1)), r.stderr[-3000:]
        [folder] = set((tmp_path / "reports" / "support_rag").glob("*")) - before
        runs.append(json.loads((folder / "results.json").read_text())["run_id"])
    clean, faulted = runs

    r = cujeval("budget", str(SUITE), cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if "grounded-answer/no-errors" in x)
    assert f"{faulted} (" in line and clean not in line  # spent most
    assert "EXHAUSTED" in line

    # the suite with a budget policy (same name: same history), against the clean service
    (tmp_path / "suites").mkdir()
    shutil.copytree(project_root() / "datasets", tmp_path / "datasets")
    doc = yaml.safe_load(SUITE.read_text())
    doc["budget"] = {"window": 28}
    for journey in doc["journeys"]:  # timing objectives no loaded machine breaches
        for slo in journey["slos"]:
            if "_s)" in slo.get("objective", ""):
                slo["objective"] = slo["objective"].split("<=")[0] + "<= 60"
    suite = tmp_path / "suites" / "support_rag.yaml"
    suite.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "third"
    with start_rag_service(ready_timeout_s=600) as service:  # clean
        env["CUJEVAL_RAG_URL"] = service.url
        r = cujeval(
            "run",
            str(suite),
            "--limit",
            "30",
            "--no-progress",
            "-o",
            str(out),
            env=env,
            timeout=900,
        )
    assert r.returncode == 1, r.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    no_errors = next(s for s in result["journeys"][0]["slos"] if s["name"] == "no-errors")
    assert no_errors["good"] == no_errors["n"] == 30  # today's run has no error
    blocks = [r for r in result["gate"]["reasons"] if r["action"] == "block"]
    # only budgets block, the grounded answer's no-errors budget among them (the faults hit
    # both journeys; on a busy machine the earlier runs may have spent latency budgets too)
    assert {r["kind"] for r in blocks} == {"budget_exhausted"}
    assert "no-errors" in [r["slo"] for r in blocks if r["journey"] == "grounded-answer"]
    assert any(
        b.startswith("grounded-answer/no-errors: budget exhausted: ")
        for b in result["gate"]["blocking"]
    )
    assert "budget exhausted" in r.stderr or "EXHAUSTED" in r.stderr

    third = result["run_id"]
    own = (out / "report.html").read_text(encoding="utf-8")  # the run's page: history drawn
    assert "<h2 id='history'>History</h2>" in own and f"data-run='{faulted}'" in own

    page = tmp_path / "history.html"
    r = cujeval("report", str(SUITE), "-o", str(page), cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    drawn = charts(dump_dom(page))
    trend = drawn["trend:grounded-answer/no-errors"]
    assert [m["data-run"] for m in trend.marks] == [clean, faulted, third]  # oldest first
    target_y = float(trend.lines["target"]["y1"])
    assert target_y == pytest.approx(trend.y_of(0.95), abs=0.05)
    point = trend.marks[1]
    assert point["data-verdict"] == "BREACHED"
    assert float(point["data-estimate"]) < 0.95 and float(point["data-upper"]) < 0.95
    assert float(point["circle.cy"]) > target_y  # drawn below the target line
    burn = drawn["burndown:grounded-answer/no-errors"]
    spent = {m["data-run"]: float(m["data-bad"]) for m in burn.marks}
    assert spent[faulted] == max(spent.values()) > 0 == spent[third]
    assert float(burn.marks[1]["data-left"]) < 0  # the faulted run alone used it all up
