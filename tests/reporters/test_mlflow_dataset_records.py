"""A golden dataset's records added in one flush (cujeval.tracking.sqlrecords) are, row for
row, what MLflow's ``upsert_dataset_records`` leaves in a real SQLite store: the records and
the dataset's schema and profile, read back through MLflow's API too."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from cujeval.tracking.history import client
from cujeval.tracking.sqlrecords import add_records, input_hash

RECORDS = [
    {
        "inputs": {"input": f"question {i} — « ✓ »"},
        "tags": {"case_id": f"c{i}", **({"tags": "smoke,fr"} if i % 2 else {})},
        "source": {"source_type": "CODE", "source_data": {"path": "datasets/faq.jsonl"}},
    }
    for i in range(5)
]
# MLflow's own: ids and clocks differ by nature; the dataset's digest is made of its clock
VOLATILE = {"dataset_record_id", "created_time", "last_update_time", "digest"}


def _store(path: Path) -> tuple[Any, str]:
    c = client(f"sqlite:///{path}")
    exp = c.create_experiment("e")
    dataset = c.create_dataset(name="faq@abc", experiment_id=exp, tags={"k": "v"})
    return c, dataset.dataset_id


def _table(path: Path, table: str, order: str) -> list[dict[str, Any]]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in con.execute(f"SELECT * FROM {table} ORDER BY {order}")]
    finally:
        con.close()
    return [{k: v for k, v in r.items() if k not in VOLATILE and k != "dataset_id"} for r in rows]


def test_records_are_the_rows_mlflow_writes(tmp_path: Path) -> None:
    theirs, mine = tmp_path / "theirs.db", tmp_path / "mine.db"
    c1, d1 = _store(theirs)
    c1._tracking_client.store.upsert_dataset_records(dataset_id=d1, records=RECORDS)
    c2, d2 = _store(mine)
    assert add_records(c2._tracking_client.store, d2, RECORDS) == len(RECORDS)

    for table, order in (
        ("evaluation_dataset_records", "input_hash"),
        ("evaluation_datasets", "name"),
    ):
        assert _table(mine, table, order) == _table(theirs, table, order), table
    got, _ = c2._tracking_client.store._load_dataset_records(d2, max_results=None)
    assert sorted(r.inputs["input"] for r in got) == sorted(r["inputs"]["input"] for r in RECORDS)
    assert {r.tags["case_id"] for r in got} == {f"c{i}" for i in range(5)}
    assert {r.source.source_type for r in got} == {"CODE"}


def test_a_held_case_is_not_added_again(tmp_path: Path) -> None:
    c, d = _store(tmp_path / "s.db")
    store = c._tracking_client.store
    assert add_records(store, d, RECORDS[:3]) == 3
    assert add_records(store, d, RECORDS) == 2  # the two it lacked
    assert add_records(store, d, RECORDS) == 0
    hashes = [
        r["input_hash"]
        for r in _table(tmp_path / "s.db", "evaluation_dataset_records", "input_hash")
    ]
    assert sorted(hashes) == sorted(input_hash(r["inputs"]) for r in RECORDS)
    assert '"num_records": 5' in str(
        _table(tmp_path / "s.db", "evaluation_datasets", "name")[0]["profile"]
    )
