"""Each journal row as an MLflow trace: the root span (the journey: input, answer, status,
tokens, cost), the retrieved contexts as a retriever span, each tool call as a tool span, and
every SLI as an assessment (feedback from ``CODE``/``cujeval``), linked to its journey run so
MLflow's evaluation views show the run case by case and ``mlflow.genai.compare_evaluations``
pairs two runs on ``mlflow.eval.requestId``.

Trace ids derive from the run key (cujeval.tracking.history.run_key) and the row's journey,
case and epoch: logging a row twice names the same trace, so a trace is never logged twice
(:func:`log_traces` logs only what the store lacks), and two runs never share a trace.

How traces reach the store (:func:`writer`): a SQLite store gets them in bulk, one transaction
a batch (cujeval.tracking.sqltraces: MLflow commits each trace on its own, ~10 ms a trace on
this kind of disk, against well under 1 ms in bulk); any other store through MLflow's client
(trace infos with their assessments, then the spans in bulk; a server takes a few at once).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from cujeval.tracking.history import RUN_ID

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from cujeval.spec.journal import JournalRow

__all__ = ["MAX_TRACES", "Writer", "build", "limit", "log_traces", "trace_id", "writer"]

MAX_TRACES = 100_000  # per journey run (CUJEVAL_MLFLOW_MAX_TRACES)
BATCH = 500  # traces a write
SPAN_CHUNK = 2000
MARK = "cujeval.traces"  # on a journey run: which rows its traces are (see mark())

Item = tuple[list[Any], Any]  # a trace: its spans and its TraceInfo (with assessments)


def enabled() -> bool:
    """Traces are on unless ``CUJEVAL_MLFLOW_TRACES`` says 0/false/no."""
    return os.environ.get("CUJEVAL_MLFLOW_TRACES", "1").lower() not in ("0", "false", "no")


def limit() -> int:
    """Traces logged per journey run at most (``CUJEVAL_MLFLOW_MAX_TRACES``)."""
    return int(os.environ.get("CUJEVAL_MLFLOW_MAX_TRACES", MAX_TRACES))


def trace_id(run_key: str, row: JournalRow) -> str:
    return _ids(run_key, row.journey, row.case_id, row.epoch)[1]


def digest(rows: Sequence[JournalRow]) -> str:
    """What the journal's rows are (cases and scores), in short."""
    return hashlib.sha256(
        "".join(f"{r.journey}/{r.case_id}/{r.epoch}/{r.case_hash}" for r in rows).encode()
        + json.dumps([r.scores for r in rows], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]


def mark(logged: int, rows: int, of: str) -> str:
    """A journey run's ``cujeval.traces`` tag once its traces are all in: how many of its
    rows have one, and the digest of the journal they came from."""
    return f"{logged} of {rows}:{of}"


class Writer(Protocol):
    """Writes traces the store does not hold yet."""

    atomic: bool  # a batch is in the store whole or not at all

    def write(self, items: Sequence[Item]) -> None: ...

    def resend_spans(self, items: Sequence[Item]) -> None: ...


class ApiWriter:
    """Through MLflow's client: trace infos (with their assessments) first, then every span
    in bulk (a span upload for a trace that exists already is cheaper than a trace info merged
    into one a span upload made). A server takes a few trace infos at once; SQLite commits one
    at a time (threads only contend)."""

    atomic = False

    def __init__(self, c: MlflowClient, exp_id: str) -> None:
        from mlflow.tracing.client import TracingClient

        self.exp_id = exp_id
        self.tc = TracingClient(c.tracking_uri)
        self.workers = 4 if str(c.tracking_uri).startswith(("http://", "https://")) else 1

    def write(self, items: Sequence[Item]) -> None:
        with ThreadPoolExecutor(self.workers) as pool:
            list(pool.map(self.tc.start_trace, [info for _, info in items]))
        self.resend_spans(items)

    def resend_spans(self, items: Sequence[Item]) -> None:
        """Spans are upserted: sending them again completes a trace whose spans were lost."""
        spans = [s for spans, _ in items for s in spans]
        for i in range(0, len(spans), SPAN_CHUNK):
            self.tc.log_spans(self.exp_id, spans[i : i + SPAN_CHUNK])


def writer(c: MlflowClient, exp_id: str) -> Writer:
    """The fastest writer the store allows (``CUJEVAL_MLFLOW_BULK_TRACES=0`` forces MLflow's
    client)."""
    if os.environ.get("CUJEVAL_MLFLOW_BULK_TRACES", "1").lower() not in ("0", "false", "no"):
        from cujeval.tracking import sqltraces

        bulk = sqltraces.for_client(c, exp_id)
        if bulk is not None:
            return bulk
    return ApiWriter(c, exp_id)


def in_store(c: MlflowClient, exp_id: str, run_id: str) -> list[str]:
    """Ids of the traces linked to ``run_id``."""
    out: list[str] = []
    token = None
    while True:
        page = c.search_traces(
            locations=[exp_id],
            run_id=run_id,
            max_results=500,
            include_spans=False,
            page_token=token,
        )
        out.extend(t.info.trace_id for t in page)
        token = page.token
        if not token:
            return out


def log_traces(
    c: MlflowClient,
    exp_id: str,
    cujeval_run: str,
    rows: Sequence[JournalRow],
    journey_runs: dict[str, str],
    start_ms: int,
    *,
    run_key: str,
    fresh: Iterable[str] = (),
    streamed: dict[str, int] | None = None,
) -> int:
    """One trace per journal row (the first :func:`limit` of each journey), linked to its
    journey run, with each SLI as an assessment. Only what the store lacks is written: runs in
    ``fresh`` were just created (they hold none); ``streamed`` counts, per journey run, the
    rows a TraceStream logged already (all of them: nothing to look up); otherwise the run's
    traces are looked up, those of other rows deleted and the missing ones written. The run's
    ``cujeval.traces`` mark is set last, so a failure part way logs the rest next time.
    Returns how many traces the journey runs hold."""
    cap = limit()
    of = digest(rows)
    fresh = set(fresh)
    out = 0
    sink: Writer | None = None
    for journey, run_id in journey_runs.items():
        mine = [r for r in rows if r.journey == journey]
        if not mine:
            continue
        wanted = mine[:cap]
        out += len(wanted)
        done = mark(len(wanted), len(mine), of)
        if run_id not in fresh and c.get_run(run_id).data.tags.get(MARK) == done:
            continue  # the same rows were logged before
        w = sink = sink or writer(c, exp_id)
        if streamed is not None and streamed.get(run_id) == len(wanted):
            todo: list[JournalRow] = []
        elif run_id in fresh:
            todo = wanted
        else:
            ids = {trace_id(run_key, r): r for r in wanted}
            have = set(in_store(c, exp_id, run_id))
            stale = sorted(have - ids.keys())
            for i in range(0, len(stale), 100):
                c.delete_traces(exp_id, trace_ids=stale[i : i + 100])
            todo = [r for t, r in ids.items() if t not in have]
            if not w.atomic:  # a trace info may have gone in without its spans
                kept = [r for t, r in ids.items() if t in have]
                each_batch(kept, w.resend_spans, exp_id, cujeval_run, run_key, run_id, start_ms)
        each_batch(todo, w.write, exp_id, cujeval_run, run_key, run_id, start_ms)
        c.set_tag(run_id, MARK, done)
    return out


def each_batch(
    rows: Sequence[JournalRow],
    write: Callable[[Sequence[Item]], None],
    exp_id: str,
    cujeval_run: str,
    run_key: str,
    run_id: str,
    start_ms: int,
) -> None:
    """Build ``rows``' traces and ``write`` them, :data:`BATCH` at a time."""
    for i in range(0, len(rows), BATCH):
        batch = rows[i : i + BATCH]
        write([build(exp_id, cujeval_run, run_key, run_id, r, start_ms) for r in batch])


def _ids(*parts: object) -> tuple[int, str]:
    h = int(hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:32], 16)
    return h, f"tr-{h:032x}"


def build(
    exp_id: str, cujeval_run: str, run_key: str, run_id: str, row: JournalRow, start_ms: int
) -> tuple[list[Any], Any]:
    """The spans and the TraceInfo (with assessments) of one journal row."""
    from mlflow.entities import (
        AssessmentError,
        AssessmentSource,
        Feedback,
        TraceInfo,
        TraceLocation,
        TraceState,
    )

    otel_id, trace_id = _ids(run_key, row.journey, row.case_id, row.epoch)
    obs = row.observation
    latency_ms = max(int(float(obs.get("latency_s") or 0.0) * 1000), 0)
    t0 = start_ms * 1_000_000
    t1 = t0 + latency_ms * 1_000_000
    ok = row.ok
    question = row.input or row.case_id
    inputs = {"case_id": row.case_id, "question": question}
    outputs: dict[str, Any] = {"answer": obs.get("answer")}
    if not ok:
        outputs.update(status=row.status, error=obs.get("error"))
    if obs.get("state") is not None:
        outputs["state"] = obs.get("state")
    usage = obs.get("usage") or {}
    token_usage = None
    if usage:
        pin, pout = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        token_usage = {"input_tokens": pin, "output_tokens": pout, "total_tokens": pin + pout}
    builder = _Spans(trace_id, otel_id)
    root_attrs: dict[str, Any] = {
        "cujeval.case_id": row.case_id,
        "cujeval.epoch": row.epoch,
        "cujeval.status": row.status,
    }
    for name in ("model", "ttft_s", "finish_reason", "attempts"):
        if obs.get(name) is not None:
            root_attrs[f"cujeval.{name}"] = obs[name]
    if token_usage:
        root_attrs["mlflow.chat.tokenUsage"] = token_usage
    root = builder.add(
        row.journey,
        "AGENT" if obs.get("tool_calls") else "CHAIN",
        t0,
        t1,
        inputs,
        outputs,
        root_attrs,
        error=None if ok else str(obs.get("error") or row.status),
    )
    contexts = obs.get("contexts")
    if contexts:
        docs = [
            {
                "page_content": str(ctx.get("text", "")),
                "metadata": {
                    "doc_uri": ctx.get("id"),
                    "chunk_id": ctx.get("id"),
                    "rank": ctx.get("rank"),
                    "score": ctx.get("score"),
                },
                "id": ctx.get("id"),
            }
            for ctx in contexts
        ]
        builder.add(
            "retrieve",
            "RETRIEVER",
            t0,
            t0,
            {"query": question},
            docs,
            {"cujeval.timing": "not measured: the target reports contexts with the answer"},
            parent=root,
        )
    t = t0
    for call in obs.get("tool_calls") or []:
        took = int(float(call.get("latency_s") or 0.0) * 1e9)
        builder.add(
            str(call.get("name") or "tool"),
            "TOOL",
            t,
            t + took,
            call.get("arguments") or {},
            call.get("result"),
            {},
            parent=root,
            error=call.get("error"),
        )
        t += took
    source = AssessmentSource(source_type="CODE", source_id="cujeval")
    feedbacks: list[Any] = []
    for sli, score in row.scores.items():
        score = score or {}
        value = score.get("value")
        meta = {"mlflow.assessment.sourceRunId": run_id}
        explanation = str(score.get("explanation") or "")[:1000] or None
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            flagged = (score.get("metadata") or {}).get("scorer_error")
            feedbacks.append(
                Feedback(
                    name=sli,
                    error=AssessmentError(
                        error_code="SCORER_ERROR" if flagged else "NOT_SCORABLE",
                        error_message=explanation or "not scorable",
                    ),
                    source=source,
                    trace_id=trace_id,
                    metadata=meta,
                    create_time_ms=start_ms,
                    last_update_time_ms=start_ms,
                )
            )
            continue
        feedbacks.append(
            Feedback(
                name=sli,
                value=value if isinstance(value, bool | int | float | str) else str(value),
                source=source,
                trace_id=trace_id,
                rationale=explanation,
                metadata=meta,
                create_time_ms=start_ms,
                last_update_time_ms=start_ms,
            )
        )
        if sli.endswith("_usd") and isinstance(value, int | float) and not isinstance(value, bool):
            # beside the exact value, in a unit MLflow's tables show (they round 1.5e-05 to 0)
            feedbacks.append(
                Feedback(
                    name=f"{sli[:-4]}_uusd",
                    value=round(float(value) * 1e6, 3),
                    source=source,
                    trace_id=trace_id,
                    rationale=f"{sli} in micro-dollars (1e-6 USD): {float(value):.6g} USD",
                    metadata=meta,
                    create_time_ms=start_ms,
                    last_update_time_ms=start_ms,
                )
            )
    metadata = {"mlflow.sourceRun": run_id}
    if token_usage:
        metadata["mlflow.trace.tokenUsage"] = json.dumps(token_usage)
    cost = (row.scores.get("cost_usd") or {}).get("value")
    if isinstance(cost, int | float) and not isinstance(cost, bool) and math.isfinite(cost):
        # MLflow's own cost field: its trace list and overview show and sum it (the cost_usd
        # assessment alone is rounded to 0 in its tables: cases cost fractions of a cent)
        metadata["mlflow.trace.cost"] = json.dumps({"total_cost": float(cost)})
    info = TraceInfo(
        trace_id=trace_id,
        trace_location=TraceLocation.from_experiment_id(exp_id),
        request_time=start_ms,
        execution_duration=latency_ms,
        state=TraceState.OK if ok else TraceState.ERROR,
        request_preview=str(question)[:1000],
        response_preview=str(obs.get("answer") or obs.get("error") or "")[:1000],
        client_request_id=f"{row.journey}/{row.case_id}/{row.epoch}",
        trace_metadata=metadata,
        tags={
            "mlflow.traceName": row.journey,
            "mlflow.eval.requestId": f"{row.journey}/{row.case_id}/{row.epoch}",
            "mlflow.trace.spansLocation": "TRACKING_STORE",
            RUN_ID: cujeval_run,
            "cujeval.case_id": row.case_id,
            "cujeval.epoch": str(row.epoch),
            "cujeval.status": row.status,
        },
        assessments=feedbacks,
    )
    return builder.spans, info


class _Spans:
    """Finished spans of one trace, built from their dictionary form."""

    def __init__(self, trace_id: str, otel_id: int) -> None:
        self.trace_id = trace_id
        self.otel_id = otel_id
        self.spans: list[Any] = []
        self._n = 0

    def add(
        self,
        name: str,
        span_type: str,
        start_ns: int,
        end_ns: int,
        inputs: Any,
        outputs: Any,
        attributes: dict[str, Any],
        *,
        parent: int | None = None,
        error: str | None = None,
    ) -> int:
        import base64

        from mlflow.entities import Span

        from cujeval._util.redact import dumps, redact

        self._n += 1
        span_id = int(hashlib.sha256(f"{self.trace_id}/{self._n}".encode()).hexdigest()[:16], 16)

        def b64(n: int, size: int) -> str:
            return base64.b64encode(n.to_bytes(size, "big")).decode()

        attrs = {
            "mlflow.traceRequestId": json.dumps(self.trace_id),
            "mlflow.spanType": json.dumps(span_type),
            "mlflow.spanInputs": dumps(inputs, ensure_ascii=False),
            "mlflow.spanOutputs": dumps(outputs, ensure_ascii=False),
            **{k: dumps(v) for k, v in attributes.items()},
        }
        self.spans.append(
            Span.from_dict(
                {
                    "trace_id": b64(self.otel_id, 16),
                    "span_id": b64(span_id, 8),
                    "parent_span_id": b64(parent, 8) if parent is not None else None,
                    "name": redact(name),
                    "start_time_unix_nano": start_ns,
                    "end_time_unix_nano": max(end_ns, start_ns),
                    "status": {
                        "code": "STATUS_CODE_ERROR" if error else "STATUS_CODE_OK",
                        "message": redact(str(error or ""))[:500],
                    },
                    "attributes": attrs,
                    "events": [],
                }
            )
        )
        return span_id
