"""The run journal: each finished case appended as one JSON line the moment it completes.

A killed run resumes from it: rows already there are not called again. A last line cut short
by the kill is dropped (the file is truncated to the last complete line).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

RowKey = tuple[str, str, int]  # (journey, case id, epoch)


def row_key(row: dict[str, Any]) -> RowKey:
    return (str(row["journey"]), str(row["case_id"]), int(row.get("epoch", 0)))


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def read(self) -> Iterator[dict[str, Any]]:
        """Complete rows already in the journal (truncating a torn last line)."""
        if not self.path.exists():
            return
        good_end = 0
        with self.path.open("rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    break
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError:
                    break
                good_end += len(raw)
                yield row
        if good_end != self.path.stat().st_size:
            with self.path.open("r+b") as f:
                f.truncate(good_end)

    def append(self, row: dict[str, Any]) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
