"""`cujeval load --mlflow` on a real tracking server: the golden signals are metrics of the
parent run, the per-second series is a metric history stepped by second, load.md an artifact."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.helpers import cujeval
from tests.test_load import SLOS, _suite

from cujeval.tracking.logger import load_metrics


def test_load_run_golden_signals_and_series_reach_mlflow(
    tmp_path: Path, mlflow_server: str
) -> None:
    from mlflow.tracking import MlflowClient

    path = _suite(tmp_path, {"kind": "python", "callable": "tests.test_load:fake_target"}, SLOS)
    out = tmp_path / "out"
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server}
    proc = cujeval(
        "load", str(path), "--rate", "20", "--duration", "3s", "--no-progress", "--mlflow",
        "-o", str(out), env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    load = json.loads((out / "results.json").read_text())["load"]
    points = load["timeseries"]["points"]
    assert len(points) >= 3

    c = MlflowClient(mlflow_server)
    exp = c.get_experiment_by_name("loadtest")
    assert exp is not None
    parents = [
        r
        for r in c.search_runs([exp.experiment_id])
        if r.data.tags.get("cujeval.kind") == "invocation"
    ]
    assert len(parents) == 1
    run = parents[0]
    m = run.data.metrics
    signals = load["golden_signals"]
    assert m["load.offered_rate"] == signals["traffic"]["offered_rate"]
    assert m["load.achieved_rate"] == signals["traffic"]["achieved_rate"]
    assert m["load.error_rate"] == signals["errors"]["rate"]
    assert m["load.errors.http_500"] == signals["errors"]["by_kind"]["http_500"]
    assert m["load.latency.p99"] == signals["latency"]["p99"]
    # the series: one point per window, stepped by its start second
    history = c.get_metric_history(run.info.run_id, "load.ts.achieved_rate")
    assert [h.step for h in history] == [round(p["t"]) for p in points]
    assert [h.value for h in history] == [p["achieved_rate"] for p in points]
    in_flight = c.get_metric_history(run.info.run_id, "load.ts.in_flight")
    assert [h.value for h in in_flight] == [p["in_flight"] for p in points]
    artifacts = {a.path for a in c.list_artifacts(run.info.run_id)}
    assert {"load.md", "results.json"} <= artifacts


def test_a_stepped_load_logs_one_journey_run_per_step_and_logs_again(
    tmp_path: Path, mlflow_server: str
) -> None:
    """Each step is a journey (``j@20/s``): its run, its per-case table (a file name without
    the slash), and ``cujeval log`` of the folder after the fact updates the same runs."""
    from mlflow.tracking import MlflowClient

    path = _suite(tmp_path, {"kind": "python", "callable": "tests.test_load:fake_target"}, SLOS)
    doc = path.read_text().replace('"name": "loadtest"', '"name": "steptest"')
    path.write_text(doc)
    out = tmp_path / "out"
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server}
    proc = cujeval(
        "load", str(path), "--steps", "20,30", "--duration", "1s", "--no-progress", "--mlflow",
        "-o", str(out), env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "mlflow reporter failed" not in proc.stderr
    c = MlflowClient(mlflow_server)
    exp = c.get_experiment_by_name("steptest")
    assert exp is not None

    def journeys() -> dict[str, str]:
        runs = c.search_runs([exp.experiment_id])
        return {
            r.data.tags["cujeval.journey"]: r.info.run_id
            for r in runs
            if r.data.tags.get("cujeval.kind") == "journey"
        }

    first = journeys()
    assert set(first) == {"j@20/s", "j@30/s"}
    tables = {a.path for a in c.list_artifacts(first["j@20/s"])}
    assert "cases_j_20_s.json" in tables
    again = cujeval("log", str(out), env=env)
    assert again.returncode == 0, again.stderr
    assert journeys() == first  # updated, not duplicated


def test_load_metrics_skip_what_has_no_number() -> None:
    load = {
        "golden_signals": {
            "traffic": {"offered_rate": 10.0, "achieved_rate": 9.5},
            "errors": {"rate": None, "by_kind": {}},
            "latency": {"n": 0},
            "saturation": {"queue_depth": {"max": 4.0, "mean": 1.5}},
        },
        "timeseries": {
            "points": [
                {"t": 0.0, "achieved_rate": 9.0, "p99": None, "saturation": {"queue_depth": 3}},
                {"t": 1.0, "achieved_rate": 10.0, "p99": 0.2},
            ]
        },
    }
    got = {(k, step): (v, ts) for k, v, ts, step in load_metrics(load, 1_000)}
    assert got[("load.offered_rate", 0)] == (10.0, 1_000)
    assert got[("load.saturation.queue_depth.max", 0)] == (4.0, 1_000)
    assert got[("load.ts.achieved_rate", 1)] == (10.0, 2_000)
    assert got[("load.ts.saturation.queue_depth", 0)] == (3.0, 1_000)
    assert ("load.ts.p99", 0) not in got and got[("load.ts.p99", 1)] == (0.2, 2_000)
    assert not any(k == "load.error_rate" for k, _ in got)
