"""A run's traces written while its cases run: the tracking worker (cujeval.tracking.worker)
reads the rows the engine appends to the run's journal and writes their traces in batches, so
that when the run ends only the last rows' traces are left to write.

The journal is the record: the stream only ever reads it, and it moves its place in the file
on only once a batch is in the store. A batch that fails (the store went down) is read and
written again later, with a growing wait; whatever is still missing when the run is logged is
written then (:meth:`TraceStream.drain`), or by ``cujeval log`` later, which looks up what the
store holds and writes only the rest (cujeval.tracking.traces.log_traces).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cujeval.tracking import traces

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from cujeval.spec.journal import JournalRow

__all__ = ["Started", "TraceStream"]

INTERVAL_S = 0.2  # between reads of the journal while rows come in
MAX_WAIT_S = 8.0  # between attempts while the store fails
READ_ROWS = 2000  # rows a read at most


@dataclass
class Started:
    """The MLflow runs a run got when it started: its experiment, the invocation (parent)
    run and a run per journey, all found again by ``key`` (cujeval.run_key)."""

    key: str
    exp_id: str
    parent: str
    runs: dict[str, str]  # journey -> MLflow run id
    directory: Path
    start_ms: int
    cujeval_run: str
    names: dict[str, str] = field(default_factory=dict)  # run id -> its name when created


class TraceStream:
    """Reads the journal from where it left off and writes the new rows' traces."""

    def __init__(self, c: MlflowClient, started: Started, *, enabled: bool = True) -> None:
        self.c = c
        self.started = started
        self.enabled = enabled
        self.limit = traces.limit()
        self.journal = started.directory / "journal.jsonl"
        self.offset = 0  # bytes of the journal whose rows' traces are in the store
        self.rows: Counter[str] = Counter()  # rows read per journey (beyond the limit too)
        self.done: dict[str, int] = dict.fromkeys(started.runs.values(), 0)  # traces per run
        self.skipped = 0  # rows of journeys with no run: log_traces writes them at the end
        self.error: Exception | None = None
        self._wait = INTERVAL_S
        self._next = time.monotonic()
        self._writer: traces.Writer | None = None

    def due_in(self) -> float:
        """Seconds until :meth:`tick` has something to do."""
        return max(0.0, self._next - time.monotonic()) if self.enabled else 3600.0

    def tick(self) -> None:
        """Write what the journal gained; a failure is kept (and tried again later)."""
        if not self.enabled or time.monotonic() < self._next:
            return
        try:
            more = self.step()
        except Exception as exc:  # the store is down or refused: the rows wait in the journal
            self.error = exc
            self._next = time.monotonic() + self._wait
            self._wait = min(self._wait * 2, MAX_WAIT_S)
            return
        self.error = None
        self._wait = INTERVAL_S
        self._next = time.monotonic() + (0.0 if more else INTERVAL_S)

    def drain(self) -> dict[str, int]:
        """Every row the journal holds written (the run is over: it grows no more); raises
        what the store raises. Returns the traces written per journey run."""
        if self.enabled:
            while self.step():
                pass
        return self.done

    def step(self) -> bool:
        """One batch: the rows after ``offset``, their traces written. True when more rows
        may be waiting."""
        got, end = self._read()
        if end == self.offset:
            return False
        counted = Counter(self.rows)
        todo: list[tuple[str, JournalRow]] = []
        for row in got:
            counted[row.journey] += 1
            run_id = self.started.runs.get(row.journey)
            if run_id is None:
                self.skipped += 1
            elif counted[row.journey] <= self.limit:
                todo.append((run_id, row))
        s = self.started
        items = [
            traces.build(s.exp_id, s.cujeval_run, s.key, run_id, row, s.start_ms)
            for run_id, row in todo
        ]
        if items:
            self._writer = self._writer or traces.writer(self.c, s.exp_id)
            self._writer.write(items)
        self.offset = end
        self.rows = counted
        for run_id, _ in todo:
            self.done[run_id] += 1
        return len(got) >= READ_ROWS

    def _read(self) -> tuple[list[JournalRow], int]:
        """Complete rows after ``offset`` (at most READ_ROWS) and where they end."""
        got: list[JournalRow] = []
        end = self.offset
        try:
            with self.journal.open("rb") as f:
                f.seek(self.offset)
                for _ in range(READ_ROWS):
                    line = f.readline()
                    if not line.endswith(b"\n"):  # none, or a row still being written
                        break
                    end += len(line)
                    row = _row(line)
                    if row is not None:
                        got.append(row)
        except FileNotFoundError:  # no case has finished yet
            pass
        return got, end


def _row(line: bytes) -> JournalRow | None:
    """A journal line as the run's logger reads it (cleaned of what this process redacts)."""
    from pydantic import ValidationError

    from cujeval._util.redact import clean
    from cujeval.spec.journal import JournalRow

    try:
        data: Any = json.loads(line)
        return JournalRow.model_validate(clean(data))
    except (ValueError, ValidationError):
        return None  # not a row: the run's logger meets it too, and says so
