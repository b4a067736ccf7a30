"""A golden dataset's cases into an MLflow evaluation dataset in one flush.

MLflow's ``upsert_dataset_records`` looks every record up by its input hash before it adds it:
a query, and so a flush of the record before, for each case; 0.67 s for 1,000 cases on this
kind of machine, the largest part of what a fresh store costs a run's logging, growing with the
dataset. A run only ever adds records: the dataset is named by the digest of its file's
content, so a case it holds already is the same case. :func:`add_records` reads the input
hashes the dataset holds in one query and adds the others in one flush, then updates the
dataset (schema, profile, digest) as ``upsert_dataset_records`` does, with MLflow's own
entities, ORM models and helpers. tests/reporters/test_mlflow_dataset_records.py holds the
rows against what ``upsert_dataset_records`` leaves.

Used for MLflow's SQLAlchemy stores; any other store (a tracking server) gets MLflow's call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

__all__ = ["add_records", "input_hash"]


def input_hash(inputs: dict[str, Any]) -> str:
    """The hash MLflow deduplicates a dataset's records by."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def add_records(store: Any, dataset_id: str, records: Sequence[dict[str, Any]]) -> int:
    """Add the ``records`` (``inputs``, ``tags``, ``source`` dicts) whose inputs the dataset
    does not hold; returns how many were added. ``store``: the client's tracking store."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    if not isinstance(store, SqlAlchemyStore):
        store.upsert_dataset_records(dataset_id=dataset_id, records=list(records))
        return len(records)
    sql: Any = store  # MLflow's own helpers, untyped
    from mlflow.entities.dataset_record import DatasetRecord
    from mlflow.entities.dataset_record_source import DatasetRecordSource
    from mlflow.store.tracking.dbmodels.models import (
        SqlEvaluationDataset,
        SqlEvaluationDatasetRecord,
    )
    from mlflow.utils import time as mlflow_time

    model = SqlEvaluationDatasetRecord
    clock: Any = mlflow_time
    with sql.ManagedSessionMaker(read_only=False) as session:
        sql._validate_dataset_accessible(session, dataset_id)
        held = {
            h for (h,) in session.query(model.input_hash).filter(model.dataset_id == dataset_id)
        }
        now = clock.get_current_time_millis()
        new = []
        for r in records:
            h = input_hash(r.get("inputs", {}))
            if h in held:
                continue
            held.add(h)
            source = r.get("source")
            no_id: Any = None  # the table's default makes it, as MLflow's upsert leaves it
            record = DatasetRecord(
                dataset_record_id=no_id,
                dataset_id=dataset_id,
                inputs=r.get("inputs", {}),
                outputs=r.get("outputs", {}),
                created_time=now,
                last_update_time=now,
                expectations=r.get("expectations"),
                tags=r.get("tags"),
                source=DatasetRecordSource.from_dict(source) if isinstance(source, dict) else None,
            )
            new.append(model.from_mlflow_entity(record, h))
        if not new:
            return 0
        session.add_all(new)
        session.flush()
        query = sql._dataset_query(session)
        info = (
            query.with_entities(SqlEvaluationDataset.schema, SqlEvaluationDataset.name)
            .filter(SqlEvaluationDataset.dataset_id == dataset_id)
            .first()
        )
        schema, name = (info[0], info[1]) if info else (None, None)
        fields: dict[str, Any] = {
            "last_update_time": now,
            "last_updated_by": None,
            "digest": sql._compute_dataset_digest(name, now),
        }
        if updated := sql._update_dataset_schema(schema, list(records)):
            fields["schema"] = json.dumps(updated)
        if profile := sql._compute_dataset_profile(session, dataset_id):
            fields["profile"] = json.dumps(profile)
        sql._dataset_query(session).filter(SqlEvaluationDataset.dataset_id == dataset_id).update(
            fields
        )
        return len(new)
