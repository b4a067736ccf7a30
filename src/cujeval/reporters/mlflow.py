"""MLflow: one experiment per suite; a parent run per invocation and a child run per journey,
so the compare view puts two releases' journeys side by side.

Metrics: each SLO's estimate, bounds, n and verdict (0/1); each SLI's mean, p50 and p95; rows
and error rate. Params: target, dataset digest, scorers, price table. Tags: git commit, trigger,
gate verdict. Artifacts: results.json, summary.md, junit.xml, and the per-case table.
If the tracking server is down, results stay on disk: ``cujeval log DIR`` logs them later.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from cujeval.results import JourneyResult, RunResult

_BAD = re.compile(r"[^A-Za-z0-9_\-. /]")


def key(name: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . /`` and space: map the rest to ``_``."""
    return _BAD.sub("_", name)


def _journey_metrics(j: JourneyResult) -> dict[str, float]:
    m: dict[str, float] = {
        "n_rows": j.n_rows,
        "n_errors": j.n_errors,
        "error_rate": j.n_errors / j.n_rows if j.n_rows else 0.0,
        "n_scorer_errors": j.n_scorer_errors,
    }
    for slo in j.slos:
        base = f"slo.{key(slo.name)}"
        for field in ("estimate", "lower", "upper"):
            v = getattr(slo, field)
            if v is not None:
                m[f"{base}.{field}"] = float(v)
        m[f"{base}.n"] = slo.n
        m[f"{base}.met"] = float(slo.verdict == "MET")
        m[f"{base}.breached"] = float(slo.verdict == "BREACHED")
        m[f"{base}.no_data"] = float(slo.verdict == "NO_DATA")
    for sli in j.slis:
        for field in ("mean", "p50", "p95"):
            v = getattr(sli, field)
            if v is not None:
                m[f"sli.{key(sli.name)}.{field}"] = float(v)
    return m


def _case_table(journal: Path, journey: str) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {"case_id": [], "epoch": [], "status": [], "answer": []}
    slis: dict[str, list[Any]] = {}
    if not journal.exists():
        return cols
    with journal.open(encoding="utf-8") as f:
        for _n, line in enumerate(f):
            row = json.loads(line)
            if row.get("journey") != journey:
                continue
            i = len(cols["case_id"])
            obs = row.get("observation", {})
            cols["case_id"].append(row["case_id"])
            cols["epoch"].append(row.get("epoch", 0))
            cols["status"].append(obs.get("status", "ok"))
            cols["answer"].append((obs.get("answer") or "")[:500])
            for name, score in row.get("scores", {}).items():
                if name.startswith("instruction:"):
                    continue
                col = slis.setdefault(name, [None] * i)
                col.append(score.get("value"))
            for col in slis.values():
                if len(col) == i:
                    col.append(None)
    return {**cols, **slis}


def log(result: RunResult, directory: Path, *, tracking_uri: str | None = None) -> str:
    """Log ``result`` (with the artifacts in ``directory``); returns the parent run id."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    import mlflow

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(result.suite)
    tags = {
        "cujeval.suite": result.suite,
        "cujeval.run_id": result.run_id,
        "cujeval.trigger": result.trigger,
        "cujeval.gate": "passed" if result.gate.passed else "failed",
        "cujeval.status": result.status,
    }
    if result.git_commit:
        tags["mlflow.source.git.commit"] = result.git_commit
    with mlflow.start_run(run_name=f"{result.suite} {result.run_id}", tags=tags) as parent:
        mlflow.log_params(
            {
                "suite_path": result.suite_path,
                "cujeval_version": result.cujeval_version,
                "confidence": result.settings.get("confidence"),
                "gate_policy": result.gate.policy,
                "price_table": json.dumps(result.price_table)[:500],
            }
        )
        mlflow.log_metric("gate.passed", float(result.gate.passed))
        for name in ("results.json", "summary.md", "junit.xml", "report.html"):
            if (directory / name).exists():
                mlflow.log_artifact(str(directory / name))
        for j in result.journeys:
            with mlflow.start_run(
                run_name=j.name,
                nested=True,
                tags={
                    **tags,
                    "cujeval.journey": j.name,
                    "cujeval.journey_gate": _journey_gate(result, j),
                },
            ):
                mlflow.log_params(
                    {
                        "journey": j.name,
                        "target": j.target[:500],
                        "dataset_path": j.dataset.path,
                        "dataset_digest": j.dataset.digest,
                        "scorers": ",".join(j.scorers)[:500],
                        "epochs": result.settings.get("epochs"),
                    }
                )
                mlflow.log_metrics(_journey_metrics(j))
                table = _case_table(directory / result.journal, j.name)
                if table["case_id"]:
                    mlflow.log_table(table, artifact_file=f"cases_{key(j.name)}.json")
        return str(parent.info.run_id)


def tracking_uri() -> str:
    """Where runs go, with credentials and secret query parameters removed."""
    import mlflow

    from cujeval.targets.base import redact_url

    uri = str(mlflow.get_tracking_uri())
    return redact_url(uri) if uri.startswith(("http://", "https://")) else uri


def _journey_gate(result: RunResult, j: JourneyResult) -> str:
    """The journey's part of the one gate decision (results.json), never recomputed."""
    return "failed" if result.gate.journeys.get(j.name) == "block" else "passed"
