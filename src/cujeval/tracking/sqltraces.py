"""Traces into a SQLite MLflow store in bulk: a batch of traces, with their assessments and
spans, in one transaction.

MLflow's client writes a trace in two calls (``start_trace``, then ``log_spans``), each its own
transaction: on SQLite that is two commits a trace (each a disk sync) and the ORM's work per
trace, ~10 ms a trace on this kind of machine; 10,000 cases paid more than a minute. Here
the rows MLflow would write (cujeval.tracking.traces builds finished traces whose trace info
is final: MLflow's ``infoFinalized`` path) are built with MLflow's own helpers (trace name and
analytics columns from the metadata, the assessments' rows, the spans' stored form) and
inserted with one executemany per table. tests/reporters/test_mlflow_bulk_traces.py holds
the result row for row against what ``start_trace`` + ``log_spans`` leave in a store.

Used only where that comparison holds: a SQLAlchemy store on SQLite whose trace tables have
exactly the columns written here (:func:`for_client` returns None otherwise, and traces go
through MLflow's client), with MLflow's opt-in trace rollups off.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from cujeval.tracking.traces import Item

__all__ = ["SqlWriter", "for_client"]

# the columns each table has in the MLflow versions this was compared on (3.17)
COLUMNS = {
    "trace_info": {
        "request_id", "experiment_id", "timestamp_ms", "execution_time_ms", "status",
        "client_request_id", "request_preview", "response_preview", "db_payload_generation",
        "trace_name", "session_id", "input_tokens", "output_tokens", "total_tokens",
        "cache_read_input_tokens", "cache_creation_input_tokens",
        "cache_creation_input_tokens_above_1hr", "input_cost", "output_cost", "total_cost",
    },
    "trace_tags": {"key", "value", "request_id"},
    "trace_request_metadata": {"key", "value", "request_id"},
    "assessments": {
        "assessment_id", "trace_id", "name", "assessment_type", "value", "error",
        "created_timestamp", "last_updated_timestamp", "experiment_id", "trace_timestamp_ms",
        "aggregate_value", "is_numeric_value", "source_type", "source_id", "run_id", "span_id",
        "rationale", "overrides", "valid", "assessment_metadata",
    },
    "spans": {
        "trace_id", "experiment_id", "span_id", "parent_span_id", "name", "type", "status",
        "start_time_unix_nano", "end_time_unix_nano", "duration_ns", "content", "input_cost",
        "output_cost", "total_cost", "model_name", "model_provider",
    },
}  # fmt: skip


def for_client(c: MlflowClient, exp_id: str) -> SqlWriter | None:
    """A bulk writer for ``c``'s store, or None when its store is not one this writes to."""
    try:
        from mlflow.store.tracking.dbmodels import models
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
        from mlflow.store.tracking.utils.sql_trace_rollups import rollups_enabled
        from mlflow.tracing.client import TracingClient

        store = TracingClient(c.tracking_uri).store
    except Exception:  # another MLflow layout: its client it is
        return None
    if not isinstance(store, SqlAlchemyStore) or store.db_type != "sqlite" or rollups_enabled():
        return None
    tables = (
        models.SqlTraceInfo,
        models.SqlTraceTag,
        models.SqlTraceMetadata,
        models.SqlAssessments,
        models.SqlSpan,
    )
    for model in tables:
        table = model.__table__
        if set(table.columns.keys()) != COLUMNS.get(table.name):
            return None
    return SqlWriter(store, exp_id)


class SqlWriter:
    """Writes finished traces into ``store`` (a SQLAlchemy SQLite store), a batch a
    transaction."""

    atomic = True

    def __init__(self, store: Any, exp_id: str) -> None:
        self.store = store
        self.exp_id = exp_id
        self._artifacts: str | None = None

    def write(self, items: Sequence[Item]) -> None:
        """Insert ``items`` (none of which the store holds: the caller looked). A trace the
        store holds after all (a write whose answer was lost) is left as it is."""
        from sqlalchemy.exc import IntegrityError

        try:
            self._insert(items)
        except IntegrityError:
            held = self._held([info.trace_id for _, info in items])
            self._insert([item for item in items if item[1].trace_id not in held])

    def resend_spans(self, items: Sequence[Item]) -> None:
        """Nothing to do: a batch is in the store whole or not at all."""

    def _held(self, trace_ids: list[str]) -> set[str]:
        from mlflow.store.tracking.dbmodels.models import SqlTraceInfo
        from sqlalchemy import select

        column = SqlTraceInfo.__table__.c.request_id
        with self.store.engine.connect() as conn:
            return {r[0] for r in conn.execute(select(column).where(column.in_(trace_ids)))}

    def _artifact_location(self) -> str:
        if self._artifacts is None:
            experiment = self.store.get_experiment(self.exp_id)
            self._artifacts = str(experiment.artifact_location)
        return self._artifacts

    def _insert(self, items: Sequence[Item]) -> None:
        from mlflow.store.tracking.dbmodels import models
        from sqlalchemy import insert, text

        if not items:
            return
        tables = _rows(items, int(self.exp_id), self._artifact_location())
        with self.store.engine.begin() as conn:
            conn.execute(text("PRAGMA foreign_keys = ON;"))  # as MLflow's own sessions
            conn.execute(text("PRAGMA busy_timeout = 20000;"))
            for model in (
                models.SqlTraceInfo,
                models.SqlTraceTag,
                models.SqlTraceMetadata,
                models.SqlAssessments,
                models.SqlSpan,
            ):
                rows = tables[model.__tablename__]
                if rows:  # one statement for all: every row names the same columns
                    names = {k for row in rows for k in row}
                    rows = [{k: row.get(k) for k in names} for row in rows]
                    conn.execute(insert(model.__table__), rows)


def _rows(items: Sequence[Item], exp_id: int, artifacts: str) -> dict[str, list[dict[str, Any]]]:
    """The rows ``start_trace`` and then ``log_spans`` leave for finished traces, by table."""
    from mlflow.store.tracking.dbmodels.models import SqlAssessments
    from mlflow.store.tracking.utils.trace_analytics import (
        PROMOTED_TRACE_METADATA_KEYS,
        analytics_columns_from_metadata,
        bounded_model_dimension,
        finite_float_or_none,
        validate_trace_name,
    )
    from mlflow.tracing.constant import SpanAttributeKey, SpansLocation, TraceMetadataKey
    from mlflow.tracing.constant import TraceTagKey as Tag
    from mlflow.tracing.otel.translation import translate_span_when_storing
    from mlflow.tracing.utils import TraceJSONEncoder
    from mlflow.utils import uri
    from mlflow.utils.mlflow_tags import MLFLOW_ARTIFACT_LOCATION

    columns = [a.key for a in SqlAssessments.__mapper__.column_attrs]
    join: Any = uri.append_to_uri_path  # as start_trace names the trace's artifact folder
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in COLUMNS}
    for spans, info in items:
        tid = info.trace_id
        metadata = dict(info.trace_metadata.items())
        analytics = analytics_columns_from_metadata(metadata)
        for k in PROMOTED_TRACE_METADATA_KEYS:
            metadata.pop(k, None)
        metadata[TraceMetadataKey.TRACE_INFO_FINALIZED] = "true"
        out["trace_info"].append(
            {
                "request_id": tid,
                "experiment_id": exp_id,
                "timestamp_ms": info.request_time,
                "execution_time_ms": info.execution_duration,
                "status": info.state.value,
                "client_request_id": info.client_request_id,
                "request_preview": info.request_preview,
                "response_preview": info.response_preview,
                "trace_name": validate_trace_name(info.tags.get(Tag.TRACE_NAME)),
                "db_payload_generation": 1,  # start_trace's row, advanced once by log_spans
                **analytics,
            }
        )
        tags = {k: v for k, v in info.tags.items() if k != Tag.TRACE_NAME}
        tags[MLFLOW_ARTIFACT_LOCATION] = join(artifacts, "traces", tid, "artifacts")
        tags[Tag.SPANS_LOCATION] = SpansLocation.TRACKING_STORE.value
        out["trace_tags"] += [{"request_id": tid, "key": k, "value": v} for k, v in tags.items()]
        out["trace_request_metadata"] += [
            {"request_id": tid, "key": k, "value": v} for k, v in sorted(metadata.items())
        ]
        for assessment in info.assessments:
            row = _feedback(assessment) if assessment.feedback is not None else None
            if row is None:
                entity = SqlAssessments.from_mlflow_entity(assessment)
                row = {k: getattr(entity, k) for k in columns}
            row.update(trace_id=tid, experiment_id=exp_id, trace_timestamp_ms=info.request_time)
            out["assessments"].append(row)
        for span in spans:
            stored = translate_span_when_storing(span)
            attributes = stored.get("attributes", {})
            raw_cost = attributes.get(SpanAttributeKey.LLM_COST)
            cost = json.loads(raw_cost) if raw_cost else {}
            out["spans"].append(
                {
                    "trace_id": span.trace_id,
                    "experiment_id": exp_id,
                    "span_id": span.span_id,
                    "parent_span_id": span.parent_id,
                    "name": span.name,
                    "type": span.span_type,
                    "status": span.status.status_code,
                    "start_time_unix_nano": span.start_time_ns,
                    "end_time_unix_nano": span.end_time_ns,
                    "content": json.dumps(stored, cls=TraceJSONEncoder, ensure_ascii=False),
                    "input_cost": finite_float_or_none(cost.get("input_cost")),
                    "output_cost": finite_float_or_none(cost.get("output_cost")),
                    "total_cost": finite_float_or_none(cost.get("total_cost")),
                    "model_name": bounded_model_dimension(
                        _json(attributes.get(SpanAttributeKey.MODEL))
                    ),
                    "model_provider": bounded_model_dimension(
                        _json(attributes.get(SpanAttributeKey.MODEL_PROVIDER))
                    ),
                }
            )
    return out


def _feedback(a: Any) -> dict[str, Any]:
    """A feedback's row, as ``SqlAssessments.from_mlflow_entity`` makes it (without an ORM
    object: most of the time it took a trace went there)."""
    from mlflow.store.tracking.utils.trace_analytics import assessment_aggregate
    from mlflow.tracing.utils import generate_assessment_id
    from mlflow.utils import time as mlflow_time

    if a.assessment_id is None:
        a.assessment_id = generate_assessment_id()
    clock: Any = mlflow_time  # untyped
    now = clock.get_current_time_millis()
    value = a.feedback.value
    aggregate_value, is_numeric_value = assessment_aggregate(value)
    return {
        "assessment_id": a.assessment_id,
        "trace_id": a.trace_id,
        "name": a.name,
        "assessment_type": "feedback",
        "value": json.dumps(value),
        "error": json.dumps(a.feedback.error.to_dictionary()) if a.feedback.error else None,
        "created_timestamp": a.create_time_ms or now,
        "last_updated_timestamp": a.last_update_time_ms or now,
        "source_type": a.source.source_type,
        "source_id": a.source.source_id,
        "run_id": a.run_id,
        "span_id": a.span_id,
        "rationale": a.rationale,
        "overrides": a.overrides,
        "valid": True,
        "assessment_metadata": json.dumps(a.metadata) if a.metadata else None,
        "aggregate_value": aggregate_value,
        "is_numeric_value": is_numeric_value,
    }


def _json(value: Any) -> Any:
    """A span attribute's string value (stored JSON-encoded), as MLflow's log_spans reads it."""
    try:
        parsed = json.loads(value)
    except (ValueError, TypeError):
        return value
    return parsed if isinstance(parsed, str) else value
