"""`cujeval load` against the bundled reference RAG service (50 ms per answer) at 20
requests/s for 30 s, as a user would run it from the README: the achieved rate is within 5 %
of the offered one, the golden signals and latency percentiles are reported, and the journey's
quality SLOs are judged on the answers given under that load."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cujeval._util.paths import project_root
from cujeval.reference.launch import start_rag_service
from tests.helpers import cujeval

QUALITY = {"retrieval-hit", "hallucination-free", "answers-grounded", "journey-success"}


@pytest.mark.slow
def test_twenty_per_second_for_thirty_seconds(tmp_path: Path) -> None:
    out = tmp_path / "load"
    with start_rag_service(faults={"latency_ms": 50.0}, ready_timeout_s=600) as service:
        r = cujeval(
            "load", str(project_root() / "suites" / "support_rag.yaml"),
            "--journey", "grounded-answer", "--rate", "20", "--duration", "30s",
            "--no-progress", "--no-mlflow", "-o", str(out),
            env={**os.environ, "CUJEVAL_RAG_URL": service.url}, timeout=900,
        )  # fmt: skip
    assert r.returncode in (0, 1), r.stderr[-3000:]
    doc = json.loads((out / "results.json").read_text())
    signals = doc["load"]["golden_signals"]
    assert signals["traffic"]["offered_rate"] == pytest.approx(20, rel=0.01)
    assert signals["traffic"]["achieved_rate"] == pytest.approx(20, rel=0.05)
    latency = signals["latency"]
    assert 0.05 <= latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert signals["errors"]["rate"] == 0
    (step,) = doc["load"]["steps"]
    assert step["traffic"]["scheduled"] == 600
    slos = {s["name"]: s for s in step["slos"]}
    assert {slos[n]["unit"] for n in QUALITY} == {"case"}
    assert all(slos[n]["n"] > 0 and slos[n]["verdict"] != "NO_DATA" for n in QUALITY)
    assert slos["latency-p95"]["unit"] == "request" and slos["latency-p95"]["n"] == 600
