"""``cujeval score --executor ray``: score large logged traffic on a Ray cluster.

Rows are read with Ray Data (``read_parquet``, or ``read_json`` for JSON lines), scored by
``map_batches`` over a fixed pool of actors (each builds the scorers once, so a model loads once
per actor) and written as Parquet. Execution streams: blocks flow from the reader through the
actors to the writer, so the driver's memory stays flat in the number of rows.

Each input row is read exactly as ``cujeval score`` reads a JSONL row (golden-case fields plus
observation fields: ``input``/``question``, ``answer``, ``contexts``, ...). Each output row is
the input row plus ``scores`` (the JSON text of ``{sli: {value, explanation, metadata}}``, as in
``cujeval score``'s output) and one ``score_<sli>`` float column per SLI the scorers declare
(true/false as 1.0/0.0, not scorable as null) for queries that need no JSON.

The output is a folder of Parquet files (``pandas.read_parquet(folder)`` reads it whole). It is
written beside the output path first and moved into place when every row is scored, so a failed
run leaves no half-written output.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cujeval.engine.executors.ray import Cluster, RayOptions, require_ray
from cujeval.errors import CujevalError, DatasetError, InputError, RunAborted

if TYPE_CHECKING:
    import pyarrow as pa

Format = Literal["auto", "jsonl", "parquet"]
_JSON_SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
SCORE_PREFIX = "score_"


def _detect(paths: list[Path]) -> Literal["jsonl", "parquet"]:
    names: list[str] = []
    for p in paths:
        if p.is_dir():
            names += [c.name.lower() for c in p.rglob("*") if c.is_file()]
        else:
            names.append(p.name.lower())
    if names and all(n.endswith(_PARQUET_SUFFIXES) for n in names):
        return "parquet"
    if names and all(n.endswith(_JSON_SUFFIXES) for n in names):
        return "jsonl"
    raise InputError(
        "cannot tell the format from the file names: give Parquet (.parquet) or JSON lines "
        "(.jsonl) files, or a folder of one of them",
        field="--input",
    )


def _check_output(output: Path) -> None:
    if output.exists() and not (output.is_dir() and not any(output.iterdir())):
        raise InputError(
            f"{output} exists; the scored rows go to a new (or empty) folder", field="--output"
        )


def _strip_nulls(value: Any) -> Any:
    """Columnar readers give a missing field as null; cujeval's records expect it absent."""
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


class BatchScorer:
    """The ``map_batches`` callable: one per actor, its scorers built once."""

    def __init__(self, names: list[str], source: str, concurrency: int = 8) -> None:
        from cujeval.scorers import base as registry

        self.scorers = [registry.create(n, {}, file="--scorer") for n in names]
        self.slis = sorted({o for s in self.scorers for o in s.outputs if not o.endswith("*")})
        self.source = Path(source)
        self.concurrency = concurrency
        # One loop for the actor's life: scorers may hold connections bound to it.
        self.loop = asyncio.new_event_loop()

    def _parse(self, row: dict[str, Any], index: int) -> Any:
        from cujeval.engine.offline import _split

        try:
            return _split(self.source, index, _strip_nulls(row))
        except DatasetError as exc:
            who = row.get("id")
            raise DatasetError(
                f"row {who!r}: {exc.message}" if who is not None else exc.message,
                file=self.source,
                field=exc.field,
            ) from None

    async def _score(self, parsed: list[Any]) -> list[dict[str, Any]]:
        from cujeval.engine.case import score_case

        gate = asyncio.Semaphore(self.concurrency)

        async def one(case: Any, obs: Any) -> dict[str, Any]:
            async with gate:
                scores, _ = await score_case(self.scorers, case, obs)
            return {k: v.to_dict() for k, v in scores.items()}

        return await asyncio.gather(*(one(c, o) for c, o in parsed))

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        rows = batch.to_pylist()
        parsed = [self._parse(row, i + 1) for i, row in enumerate(rows)]
        scored = self.loop.run_until_complete(self._score(parsed))
        drop = [c for c in batch.column_names if c == "scores" or c.startswith(SCORE_PREFIX)]
        out = batch.drop_columns(drop) if drop else batch
        text = [json.dumps(s, ensure_ascii=False, default=str) for s in scored]
        out = out.append_column("scores", pa.array(text, type=pa.string()))
        for sli in self.slis:
            values = [_number((s.get(sli) or {}).get("value")) for s in scored]
            out = out.append_column(SCORE_PREFIX + sli, pa.array(values, type=pa.float64()))
        return out


def _count_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(folder.rglob("*.parquet")))


def _cause(exc: BaseException) -> BaseException:
    """The user-code error inside Ray's wrappers (RayTaskError, UserCodeException, ...)."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, CujevalError):
            return node
        node = getattr(node, "cause", None) or node.__cause__ or node.__context__
    return exc


def score_logs(
    input: str | Path | Sequence[str | Path],
    scorers: Sequence[str],
    output: str | Path,
    *,
    address: str | None = None,
    options: RayOptions | None = None,
    input_format: Format = "auto",
    batch_size: int = 64,
    progress: bool = False,
) -> int:
    """Score the rows of ``input`` (Parquet or JSON-lines files, or folders of them) with the
    scorers named in ``scorers`` on Ray, and write them with their scores as Parquet files into
    the folder ``output`` (new or empty). Returns the number of rows written.

    ``address``: a Ray cluster (``HOST:PORT``, ``auto``); default ``RAY_ADDRESS``, else a local
    Ray for this call. ``options``: the actors' resources and pool size (default: from the
    ``CUJEVAL_RAY_*`` environment, see :class:`cujeval.engine.executors.ray.RayOptions`).

    Bad input (a missing file, an unknown scorer, a row that is not a valid record, an output
    that exists) raises InputError (exit 2); an unreachable cluster, RunAborted (exit 3).
    Long: the Ray Data stages in the order they run."""
    require_ray()
    from cujeval.scorers import base as registry

    paths = [Path(p) for p in ([input] if isinstance(input, str | Path) else input)]
    if not paths:
        raise InputError("no input given", field="--input")
    for p in paths:
        if not p.exists():
            raise InputError("no such file or folder", file=p, field="--input")
    fmt = _detect(paths) if input_format == "auto" else input_format
    names = list(scorers)
    if not names:
        raise InputError("name at least one scorer", field="--scorer")
    for name in names:  # unknown names and bad options stop here, before any cluster
        registry.create(name, {}, file="--scorer")
    out = Path(output)
    _check_output(out)
    if batch_size < 1:
        raise InputError(f"{batch_size} is not a batch size", field="--batch-size")
    opts = options if options is not None else RayOptions.from_env()

    cluster = Cluster(address, opts)
    cluster.connect()
    staging = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        import ray.data

        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = progress
        context.print_on_execution_start = progress
        if hasattr(context, "use_datasource_v2"):
            # Ray's datasource-v2 Parquet reader (2.60) lists files in a task that holds a CPU: with
            # the scoring actors holding every CPU of the cluster, it never runs.
            context.use_datasource_v2 = False
        if not progress:
            logging.getLogger("ray.data").setLevel(logging.WARNING)
        pool = max(1, opts.actors or cluster.actors_that_fit(opts))
        files = [str(p.resolve()) for p in paths]
        # Reading and writing hold no CPU of their own, so the scoring actors may take all.
        if fmt == "parquet":
            ds = ray.data.read_parquet(files, num_cpus=0)
        else:
            ds = ray.data.read_json(files, num_cpus=0)
        ds = ds.map_batches(
            BatchScorer,
            fn_constructor_kwargs={"names": names, "source": ", ".join(files)},
            batch_size=batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=pool),
            num_cpus=opts.cpus,
            num_gpus=opts.gpus or None,
            memory=opts.memory,
        )
        ds.write_parquet(str(staging), ray_remote_args={"num_cpus": 0})
        n = _count_rows(staging) if staging.exists() else 0
        if out.exists():
            out.rmdir()  # checked empty above
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, out)
        return n
    except CujevalError:
        raise
    except Exception as exc:
        cause = _cause(exc)
        if isinstance(cause, InputError):
            raise InputError(str(cause)) from None
        if isinstance(cause, CujevalError):
            raise RunAborted(str(cause)) from None
        first = (str(exc).strip().splitlines() or [""])[0]
        raise RunAborted(f"scoring on Ray failed: {type(exc).__name__}: {first}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        cluster.close()


__all__ = ["SCORE_PREFIX", "BatchScorer", "score_logs"]
