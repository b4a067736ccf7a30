"""Traces written to a SQLite store in bulk (cujeval.tracking.sqltraces) are, row for row, what
MLflow's own client writes for them (``start_trace`` then ``log_spans``), on real stores: every
table a trace touches, and the traces read back through MLflow's API."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cujeval.spec.journal import JournalRow
from cujeval.tracking import traces
from cujeval.tracking.history import client
from cujeval.tracking.sqltraces import COLUMNS, SqlWriter, for_client

RUN = "0123456789abcdef0123456789abcdef"  # the journey run the traces link to

ROWS = [
    JournalRow(  # a RAG answer: contexts, tokens, cost, a score with its explanation
        journey="rag",
        case_id="c1",
        case_hash="h1",
        input="Qu'est-ce qu'un « budget d'erreur » ? ✓",
        observation={
            "answer": "Une part tolérée de mauvais cas — ≈ 5 %.",
            "contexts": [
                {"id": "d1", "text": "Le budget…", "rank": 1, "score": 0.9},
                {"id": "d2", "text": "SLO 95 %", "rank": 2, "score": 0.4},
            ],
            "usage": {"prompt_tokens": 120, "completion_tokens": 14},
            "model": "gpt-x",
            "latency_s": 0.231,
            "ttft_s": 0.05,
            "finish_reason": "stop",
            "status": "ok",
        },
        scores={
            "faithfulness": {"value": 0.75, "explanation": "3 of 4 claims supported"},
            "error": {"value": False},
            "cost_usd": {"value": 1.25e-05},
            "precision@2": {"value": 0.5},
            "instruction:length": {"value": True, "explanation": "followed"},
        },
    ),
    JournalRow(  # an agent: tool calls, one failing; a scorer that raised; no contexts
        journey="agent",
        case_id="a1",
        epoch=1,
        input="cancel order 42",
        observation={
            "answer": "Cancelled.",
            "tool_calls": [
                {
                    "name": "lookup",
                    "arguments": {"order": 42},
                    "result": {"ok": 1},
                    "latency_s": 0.1,
                },
                {"name": "cancel", "arguments": {"id": 42}, "error": "timeout", "latency_s": 2},
            ],
            "state": {"orders": {"42": "cancelled"}},
            "latency_s": 2.4,
            "attempts": 2,
            "status": "ok",
        },
        scores={
            "task_success": {"value": 1.0},
            "faithfulness": {"value": None, "explanation": "no contexts returned"},
            "tool_f1": {
                "value": None,
                "explanation": "ValueError: bad",
                "metadata": {"scorer_error": True},
            },
        },
        scorer_errors=["tool_f1"],
    ),
    JournalRow(  # the target failed
        journey="rag",
        case_id="c2",
        input="",
        observation={"status": "http_500", "error": "HTTP 500: boom", "latency_s": 0.01},
        scores={"error": {"value": True}, "latency_s": {"value": float("nan")}},
    ),
]


def _store(tmp_path: Path, name: str) -> tuple[Any, str]:
    c = client(f"sqlite:///{tmp_path / name}")
    exp_id = c.create_experiment("bulk", artifact_location=str(tmp_path / "artifacts"))
    return c, str(exp_id)


def _items(exp_id: str) -> list[traces.Item]:
    return [traces.build(exp_id, "run-abc123", "key0", RUN, r, 1_700_000_000_000) for r in ROWS]


def _tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a trace wrote, by table; the assessments' random ids aside."""
    con = sqlite3.connect(path)
    out = {}
    for table in COLUMNS:
        names = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        keep = [n for n in names if n != "assessment_id"]
        rows = con.execute(f"SELECT {', '.join(keep)} FROM {table}").fetchall()
        out[table] = sorted(rows, key=repr)
    con.close()
    return out


def _api_view(c: Any, exp_id: str) -> list[dict[str, Any]]:
    out = []
    for t in c.search_traces(locations=[exp_id], max_results=100):
        info = t.info.to_dict()
        info.pop("assessments")
        out.append(
            {
                "info": info,
                "assessments": sorted(
                    (
                        {k: v for k, v in a.to_dictionary().items() if k != "assessment_id"}
                        for a in t.info.assessments
                    ),
                    key=repr,
                ),
                "spans": sorted((s.to_dict() for s in t.data.spans), key=repr),
            }
        )
    return sorted(out, key=lambda v: v["info"]["trace_id"])


def test_bulk_rows_are_the_rows_mlflow_writes(tmp_path: Path) -> None:
    c_api, exp_api = _store(tmp_path, "api.db")
    c_bulk, exp_bulk = _store(tmp_path, "bulk.db")
    assert exp_api == exp_bulk
    traces.ApiWriter(c_api, exp_api).write(_items(exp_api))
    writer = for_client(c_bulk, exp_bulk)
    assert isinstance(writer, SqlWriter)  # this store takes the bulk path
    writer.write(_items(exp_bulk))

    api, bulk = _tables(tmp_path / "api.db"), _tables(tmp_path / "bulk.db")
    assert {t: len(r) for t, r in bulk.items()} == {t: len(r) for t, r in api.items()}
    # ten SLIs, and the one priced case's cost in micro-dollars beside its cost in dollars
    assert len(bulk["trace_info"]) == 3 and len(bulk["assessments"]) == 11
    for table in COLUMNS:
        assert bulk[table] == api[table], table
    assert _api_view(c_bulk, exp_bulk) == _api_view(c_api, exp_api)


def test_a_batch_the_store_holds_in_part_adds_only_the_rest(tmp_path: Path) -> None:
    c, exp_id = _store(tmp_path, "part.db")
    writer = for_client(c, exp_id)
    assert writer is not None
    items = _items(exp_id)
    writer.write(items[:1])  # in the store already (a write whose answer was lost)
    writer.write(items)
    tables = _tables(tmp_path / "part.db")
    assert len(tables["trace_info"]) == 3 and len(tables["assessments"]) == 11


def test_other_stores_go_through_mlflows_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c, exp_id = _store(tmp_path, "x.db")
    monkeypatch.setenv("CUJEVAL_MLFLOW_BULK_TRACES", "0")
    assert isinstance(traces.writer(c, exp_id), traces.ApiWriter)
    monkeypatch.setenv("CUJEVAL_MLFLOW_BULK_TRACES", "1")
    assert isinstance(traces.writer(c, exp_id), SqlWriter)
    monkeypatch.setitem(COLUMNS, "spans", COLUMNS["spans"] - {"model_name"})  # a schema it
    assert for_client(c, exp_id) is None  # was not compared on
