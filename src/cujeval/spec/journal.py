"""The run journal: each finished case appended as one JSON line the moment it completes.

A killed run resumes from it: rows already there are not called again. A last line cut short
by the kill is repaired (the file is truncated to the last complete line). Each row carries the
hash of the golden case it answered, so a resume after the dataset changed re-runs the changed
cases and drops the rows of removed ones. :func:`read_rows` is the one reader; reporters and
notebooks go through it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cujeval._util.redact import dumps
from cujeval.errors import InputError
from cujeval.spec.records import GoldenCase

JOURNAL_NAME = "journal.jsonl"
RowKey = tuple[str, str, int]  # (journey, case id, epoch)


class JournalRow(BaseModel):
    """One finished (case, epoch) of a journey: what the target did and every score."""

    model_config = ConfigDict(extra="allow")

    journey: str
    case_id: str
    epoch: int = 0
    case_hash: str | None = None
    input: str = ""
    tags: list[str] = Field(default_factory=list)
    cluster: str | None = None
    observation: dict[str, Any] = Field(default_factory=dict)
    scores: dict[str, dict[str, Any]] = Field(default_factory=dict)
    scorer_errors: list[str] = Field(default_factory=list)  # scorers that raised on this row

    @property
    def key(self) -> RowKey:
        return (self.journey, self.case_id, self.epoch)

    @property
    def status(self) -> str:
        return str(self.observation.get("status", "ok"))

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def values(self) -> dict[str, Any]:
        return {k: (s or {}).get("value") for k, s in self.scores.items()}


def case_hash(case: GoldenCase) -> str:
    """A short content hash of a golden case: the fields it sets, in canonical JSON (a new
    optional field in the case model changes no existing case's hash)."""
    data = json.dumps(
        case.model_dump(mode="json", exclude_defaults=True), sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def read_rows(path: Path, *, repair: bool = False) -> Iterator[JournalRow]:
    """Complete rows of the journal at ``path``, in order. A torn or unreadable last line ends
    the read; with ``repair`` it is cut off the file so appends continue after the last good
    row. A bad line followed by good ones is bad input (the journal was edited by hand)."""
    if not path.exists():
        return
    good_end = 0
    torn = False
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            row = _parse(raw) if raw.endswith(b"\n") else None
            if row is None:
                rest = f.read()
                if rest.strip():
                    raise InputError(
                        "unreadable journal row followed by more rows", file=path, line=lineno
                    )
                torn = True
                break
            good_end += len(raw)
            yield row
    if torn and repair:
        with path.open("r+b") as f:
            f.truncate(good_end)


def _parse(raw: bytes) -> JournalRow | None:
    try:
        return JournalRow.model_validate_json(raw)
    except ValidationError:
        return None


class Journal:
    """Append-only writer of journal rows (one flush per row, fsync on close)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def append(self, row: dict[str, Any]) -> None:
        """Append one row (the fields of :class:`JournalRow`), redacted, flushed at once."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(dumps(row, ensure_ascii=False) + "\n")
        self._file.flush()

    def rewrite(self, rows: list[JournalRow]) -> None:
        """Replace the journal with ``rows`` (a resume that dropped stale rows), atomically."""
        tmp = self.path.with_suffix(".jsonl.tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(dumps(row.model_dump(), ensure_ascii=False) + "\n")
        tmp.replace(self.path)

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
