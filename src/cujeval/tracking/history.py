"""History read back from MLflow: the runs budgets are kept over, and the runs a baseline or
``cujeval compare`` names.

Every run cujeval logs is tagged: the invocation (parent) run ``cujeval.kind=invocation``,
each journey run ``cujeval.kind=journey``, both with ``cujeval.run_id`` (unique per
invocation: the run folder's name and a random suffix) and ``cujeval.trigger``. A journey
run's metrics ``slo.<key>.n``, ``.good`` and ``.target`` are the evidence a budget needs, so
history costs one search, not a download.

A run is named by an MLflow run id (an invocation's or a journey's), cujeval's own run id or
a prefix of it (an ambiguous one is an error listing the candidates), ``tag:NAME`` (the run
``cujeval tag RUN NAME`` marked, e.g. the last release) or the path of a ``results.json`` (or
its folder). mlflow is imported only here, and only when called.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cujeval.core.budget import BudgetState, RunCount, compute
from cujeval.errors import InputError, ReporterError
from cujeval.spec.budget import DEFAULT_POLICY, BudgetPolicy
from cujeval.tracking.env import prepare_env

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from cujeval.spec.journal import JournalRow
    from cujeval.spec.results import RunResult
    from cujeval.spec.suite import Suite

KIND = "cujeval.kind"
RUN_ID = "cujeval.run_id"
RUN_KEY = "cujeval.run_key"
TRIGGER = "cujeval.trigger"
JOURNEY = "cujeval.journey"
TAG_PREFIX = "cujeval.tag."
_BAD_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")
_TAG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_DOWN = (
    "connection refused",
    "failed to establish a new connection",
    "max retries exceeded",
    "read timed out",
    "connect timeout",
    "name or service not known",
    "remote end closed connection",
    "connection reset",
    "connection aborted",
)


class TrackingUnavailable(ReporterError):
    """The MLflow tracking server cannot be reached: exit 3, the run's files stay on disk."""

    exit_code = 3


def key(name: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . /`` and space: map the rest to ``_``."""
    return _BAD_KEY.sub("_", name)


def client(tracking_uri: str | None = None) -> MlflowClient:
    prepare_env()
    from mlflow.tracking import MlflowClient

    from cujeval._util.redact import register_url
    from cujeval.tracking.store import prepare

    prepare(tracking_uri)  # a fresh SQLite store made whole, in a moment
    try:
        c = MlflowClient(tracking_uri=tracking_uri)
    except Exception as exc:  # a database store is opened here: one that is not a store
        from cujeval._util.redact import redact

        text = " ".join(str(exc).split("\n")[0].split())[:300]
        where = shown_tracking_uri(tracking_uri)
        raise ReporterError(
            redact(f"MLflow could not open the tracking store {where}: {text}")
        ) from None
    register_url(str(c.tracking_uri))  # its credentials never show, whatever MLflow echoes
    return c


def shown_uri(c: MlflowClient) -> str:
    """The client's tracking URI without credentials or secret query values."""
    from cujeval._util.redact import redact_url

    uri = str(c.tracking_uri)
    return redact_url(uri) if uri.startswith(("http://", "https://")) else uri


def shown_tracking_uri(tracking_uri: str | None) -> str:
    """The tracking URI a client would use, as shown to users, without importing MLflow."""
    from cujeval._util.redact import redact_url

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    return redact_url(uri) if uri.startswith(("http://", "https://")) else uri


def is_down(exc: BaseException) -> bool:
    """The error says the server cannot be reached (not that it refused the request)."""
    seen: BaseException | None = exc
    while seen is not None:
        name = type(seen).__name__
        if name in ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout"):
            return True
        if any(s in str(seen).lower() for s in _DOWN):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextmanager
def guard(c: MlflowClient, what: str, *, directory: Path | None = None) -> Iterator[None]:
    """MLflow failures as cujeval errors: unreachable → TrackingUnavailable (exit 3), other
    failures → ReporterError; messages name the server and what was being done."""
    try:
        yield
    except (InputError, ReporterError):
        raise
    except Exception as exc:
        where = shown_uri(c)
        later = f"; the run's files stay in {directory}" if directory else ""
        if is_down(exc):
            raise TrackingUnavailable(
                f"MLflow at {where} is unreachable while {what}{later}"
                + (f": log them later with `cujeval log {directory}`" if directory else "")
            ) from None
        text = " ".join(str(exc).split())[:400]
        raise ReporterError(f"MLflow at {where} failed while {what}: {text}") from None


def run_key(result: RunResult, directory: Path) -> str:
    """What makes a logged run the same run: the suite, cujeval's run id (the folder's name
    and a random suffix) and its start. Known as the run starts, so its MLflow runs and traces
    can be written while it goes on; logging a folder again finds its runs by this key; a
    resumed run starts anew and is logged as a run of its own."""
    return key_of(result.suite, result.run_id, result.started_at)


def key_of(suite: str, run_id: str, started_at: str) -> str:
    import hashlib

    return hashlib.sha256(f"{suite}/{run_id}/{started_at}/".encode()).hexdigest()[:24]


def legacy_run_key(result: RunResult, directory: Path) -> str:
    """The key runs were logged under before :func:`run_key` (it hashed the journal too):
    a folder logged then is found by it."""
    import hashlib

    h = hashlib.sha256(f"{result.suite}/{result.run_id}/{result.started_at}/".encode())
    journal = directory / result.journal
    source = journal if journal.exists() else directory / "results.json"
    if source.exists():
        with source.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:24]


def parse_time_ms(iso: str) -> int | None:
    try:
        return int(datetime.fromisoformat(iso).timestamp() * 1000)
    except (TypeError, ValueError):
        return None


# ---- journey history ----------------------------------------------------------------------


@dataclass(frozen=True)
class JourneyRecord:
    """One journey run as MLflow holds it: its evidence per SLO in the metrics."""

    run_id: str  # cujeval's
    mlflow_run_id: str
    key: str  # cujeval.run_key: one invocation
    journey: str
    started_ms: int
    trigger: str
    status: str
    metrics: dict[str, float] = field(default_factory=dict)

    def count(self, slo: str) -> RunCount | None:
        base = f"slo.{key(slo)}"
        n, good = self.metrics.get(f"{base}.n"), self.metrics.get(f"{base}.good")
        if n is None or good is None:
            return None
        started = datetime.fromtimestamp(self.started_ms / 1000).isoformat(timespec="seconds")
        return RunCount(
            self.run_id, n, good, started, trigger=self.trigger, mlflow_run_id=self.mlflow_run_id
        )


def read_journeys(
    c: MlflowClient, suite: str, *, trigger: str | None = None, runs: int = 28
) -> list[JourneyRecord]:
    """Journey runs of the ``runs`` newest completed invocations of ``suite`` (only ``trigger``
    ones when given), oldest first. One search; no artifact is downloaded. An aborted run
    counts no case: the run that completes it (``--resume``) is logged as a run of its own."""
    with guard(c, f"reading the history of suite {suite!r}"):
        exp = c.get_experiment_by_name(suite)
        if exp is None:
            return []
        flt = f"tags.`{KIND}` = 'journey'"
        if trigger:
            flt += f" and tags.`{TRIGGER}` = '{trigger}'"
        out: list[JourneyRecord] = []
        seen: set[str] = set()
        token: str | None = None
        while True:
            page = c.search_runs(
                [exp.experiment_id],
                filter_string=flt,
                order_by=["attributes.start_time DESC"],
                max_results=1000,
                page_token=token,
            )
            for r in page:
                tags = r.data.tags
                if tags.get("cujeval.status", "completed") != "completed":
                    continue
                rid = tags.get(RUN_ID, r.info.run_id)
                k = tags.get(RUN_KEY) or tags.get("mlflow.parentRunId") or r.info.run_id
                if k not in seen and len(seen) >= runs:
                    continue
                seen.add(k)
                out.append(
                    JourneyRecord(
                        run_id=rid,
                        mlflow_run_id=r.info.run_id,
                        key=k,
                        journey=r.data.tags.get(JOURNEY, ""),
                        started_ms=int(r.info.start_time or 0),
                        trigger=r.data.tags.get(TRIGGER, ""),
                        status=r.data.tags.get("cujeval.status", ""),
                        metrics=dict(r.data.metrics),
                    )
                )
            token = page.token
            if not token or len(seen) >= runs:
                break
    out.sort(key=lambda r: (r.started_ms, r.run_id))
    return out


def budget_states(
    suite: Suite,
    records: list[JourneyRecord],
    *,
    policy: BudgetPolicy | None = None,
    current: RunResult | None = None,
    current_rows: list[JournalRow] | None = None,
    current_key: str | None = None,
) -> list[BudgetState]:
    """Every budgeted SLO's state over the window; ``current`` (a run not logged yet) counts
    as the newest run, replacing the logged run with key ``current_key`` if there is one."""
    policy = policy or suite.budget or DEFAULT_POLICY
    confidence = float(suite.settings.confidence)
    return [
        compute(journey, slo, target, counts, policy, confidence)
        for journey, slo, target, counts in budget_counts(
            suite,
            records,
            policy=policy,
            current=current,
            current_rows=current_rows,
            current_key=current_key,
        )
    ]


def budget_counts(
    suite: Suite,
    records: list[JourneyRecord],
    *,
    policy: BudgetPolicy | None = None,
    current: RunResult | None = None,
    current_rows: list[JournalRow] | None = None,
    current_key: str | None = None,
) -> list[tuple[str, str, float, list[RunCount]]]:
    """Per budgeted SLO: (journey, SLO, target, each run's evidence oldest first), what
    :func:`budget_states` computes the budgets from (and a burn-down draws)."""
    from cujeval.core.budget import slo_counts

    policy = policy or suite.budget or DEFAULT_POLICY
    now: dict[tuple[str, str], RunCount] = {}
    if current is not None:
        for sc in slo_counts(current, current_rows or []):
            now[(sc.journey, sc.slo)] = RunCount(
                current.run_id, sc.n, sc.good, current.started_at, trigger=current.trigger
            )
    out = []
    for j in suite.journeys:
        targets = _targets(suite, j.name)
        mine = [r for r in records if r.journey == j.name]
        for slo in j.slos:
            target = targets.get(slo.name)
            if target is None or not policy.for_slo(j.name, slo.name).budget:
                continue
            counts = [
                c
                for r in mine
                if current_key is None or r.key != current_key
                for c in [r.count(slo.name)]
                if c is not None
            ]
            if (j.name, slo.name) in now:
                counts.append(now[(j.name, slo.name)])
            out.append((j.name, slo.name, target, counts))
    return out


def _targets(suite: Suite, journey: str) -> dict[str, float]:
    from cujeval.core.budget import quantile_target

    out: dict[str, float] = {}
    for j in suite.journeys:
        if j.name != journey:
            continue
        for s in j.slos:
            if s.target is not None:
                out[s.name] = s.target
            elif s.objective is not None:
                q = quantile_target(s.objective)
                if q is not None:
                    out[s.name] = q[0]
    return out


# ---- naming runs -------------------------------------------------------------------------


@dataclass
class LoadedRun:
    """A recorded run, ready to compare: its results, its journal rows and where it is."""

    result: RunResult
    rows: list[JournalRow]
    label: str
    mlflow_run_id: str | None = None
    directory: Path | None = None


def load_run(spec: str, *, tracking_uri: str | None = None) -> LoadedRun:
    """The run ``spec`` names (see the module doc). InputError (exit 2) when nothing matches;
    TrackingUnavailable (exit 3) when MLflow is needed and down."""
    from cujeval.spec.journal import read_rows
    from cujeval.spec.results import RunResult

    path = Path(spec)
    if not spec.startswith("tag:") and (path.exists() or spec.endswith(".json")):
        if not path.exists():
            raise InputError("no such results file", file=path)
        folder = path if path.is_dir() else path.parent
        if not (folder / "results.json").exists():
            raise InputError("no results.json here", file=folder)
        result = RunResult.read(folder / "results.json")
        rows = list(read_rows(folder / result.journal))
        return LoadedRun(result, rows, str(spec), directory=folder)
    c = client(tracking_uri)
    parent = find_invocation(c, spec)
    # read whole into memory, so the downloaded files go with their scratch folder
    with (
        guard(c, f"downloading run {spec}"),
        tempfile.TemporaryDirectory(prefix="cujeval-run-") as tmp,
    ):
        got = c.download_artifacts(parent, "results.json", tmp)
        result = RunResult.read(Path(got))
        try:
            journal = Path(c.download_artifacts(parent, "journal.jsonl", tmp))
        except Exception as exc:
            if is_down(exc):
                raise
            raise InputError(
                f"MLflow run {parent} has no journal.jsonl artifact (logged by an older "
                "cujeval?): compare needs the per-case rows; name its results.json instead",
                field="baseline",
            ) from None
        rows = list(read_rows(journal))
    return LoadedRun(result, rows, spec, mlflow_run_id=parent)


def find_invocation(c: MlflowClient, spec: str) -> str:
    """The MLflow id of the invocation (parent) run ``spec`` names."""
    with guard(c, f"looking up run {spec}"):
        if spec.startswith("tag:"):
            name = spec[4:]
            if not _TAG_NAME.match(name):
                raise InputError(f"bad tag name {name!r}", field="baseline")
            runs = _search_all(c, f"tags.`{TAG_PREFIX}{name}` = 'true'")
            if not runs:
                raise InputError(
                    f"no MLflow run carries the tag {name!r} (set one with `cujeval tag RUN "
                    f"{name}`)",
                    field="baseline",
                )
            return str(runs[0].info.run_id)
        if _HEX32.match(spec):
            try:
                run = c.get_run(spec)
            except Exception as exc:
                if is_down(exc):
                    raise
                run = None
            if run is not None:
                parent = run.data.tags.get("mlflow.parentRunId")
                if run.data.tags.get(KIND) == "journey" and parent:
                    return str(parent)
                return str(run.info.run_id)
        runs = _search_all(
            c,
            f"tags.`{RUN_ID}` LIKE '{_like(spec)}%' and tags.`{KIND}` = 'invocation'",
            max_results=50,
        )
        return _one_run(spec, runs)


def _one_run(spec: str, runs: list[Any]) -> str:
    """The one invocation a cujeval run id (or a prefix of one) names; InputError listing the
    candidates when none or several match."""
    exact = [r for r in runs if r.data.tags.get(RUN_ID) == spec]
    found = exact or [r for r in runs if str(r.data.tags.get(RUN_ID, "")).startswith(spec)]
    if len(found) == 1:
        return str(found[0].info.run_id)
    if not found:
        raise InputError(
            f"no run {spec!r}: not a results.json path, an MLflow run id, a cujeval run "
            "id (or a prefix of one) nor tag:NAME",
            field="baseline",
        )
    listed = [f"{r.data.tags.get(RUN_ID)} (MLflow {r.info.run_id})" for r in found[:10]]
    raise InputError(
        f"run {spec!r} is ambiguous: it matches {len(found)} runs"
        + (" with that very id (logged before run ids were unique)" if exact else "")
        + ": "
        + "; ".join(listed)
        + ("; …" if len(found) > 10 else "")
        + ". Give more of the id, or the MLflow run id",
        field="baseline",
    )


def _quote(text: str) -> str:
    return text.replace("'", "")


def _like(text: str) -> str:
    """``text`` as a prefix in a LIKE pattern (``_`` may match more: callers filter)."""
    return _quote(text).replace("%", "")


def _search_all(c: MlflowClient, flt: str, *, max_results: int = 5) -> list[Any]:
    ids = [e.experiment_id for e in c.search_experiments(max_results=1000)]
    if not ids:
        return []
    return list(
        c.search_runs(
            ids,
            filter_string=flt,
            order_by=["attributes.start_time DESC"],
            max_results=max_results,
        )
    )


def tag_run(spec: str, name: str, *, tracking_uri: str | None = None) -> str:
    """Mark the invocation ``spec`` names as ``tag:NAME`` (moving the tag off any other run of
    its experiment); returns its MLflow id."""
    if not _TAG_NAME.match(name):
        raise InputError(f"bad tag name {name!r}: letters, digits, '_', '.', '-'", field="NAME")
    c = client(tracking_uri)
    run_id = find_invocation(c, spec)
    with guard(c, f"tagging run {spec}"):
        exp = c.get_run(run_id).info.experiment_id
        for other in c.search_runs([exp], filter_string=f"tags.`{TAG_PREFIX}{name}` = 'true'"):
            if other.info.run_id != run_id:
                c.delete_tag(other.info.run_id, f"{TAG_PREFIX}{name}")
        c.set_tag(run_id, f"{TAG_PREFIX}{name}", "true")
    return run_id
