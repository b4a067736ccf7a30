"""Golden datasets: JSONL (one case a line), CSV, or any file `datasets` can load (parquet,
json). Validated up front with file:line:field errors; streamed during the run; identified by
a content digest."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cujeval.errors import DatasetError, InputError
from cujeval.records import GoldenCase
from cujeval.yamlsource import dotted

_LIST_FIELDS = ("relevant_ids", "reference_contexts", "instructions", "tags", "input")


@dataclass(frozen=True)
class DatasetInfo:
    path: Path
    digest: str  # "sha256:<hex>" of the file's bytes
    n_cases: int


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f"sha256:{h.hexdigest()}"


def _raw_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, raw row) pairs; JSON syntax errors raised with their line."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as f:
            for lineno, text in enumerate(f, 1):
                if not text.strip():
                    continue
                try:
                    yield lineno, json.loads(text)
                except json.JSONDecodeError as exc:
                    raise DatasetError(
                        f"invalid JSON: {exc.msg} (column {exc.colno})", file=path, line=lineno
                    ) from None
    elif suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            for i, row in enumerate(csv.DictReader(f), 2):
                yield i, {k: _csv_value(k, v) for k, v in row.items() if v not in (None, "")}
    else:
        try:
            from datasets import load_dataset  # type: ignore[attr-defined]
        except ImportError:  # pragma: no cover - datasets is a dependency
            raise DatasetError("unsupported dataset format", file=path) from None
        kind = {".parquet": "parquet", ".json": "json", ".arrow": "arrow"}.get(suffix)
        if kind is None:
            raise DatasetError(
                "unsupported dataset format; use .jsonl, .csv, .json or .parquet", file=path
            )
        ds = load_dataset(kind, data_files=str(path), split="train")
        for i, row in enumerate(ds, 1):
            yield i, {k: v for k, v in row.items() if v is not None}


def _csv_value(key: str, value: str) -> Any:
    if key in _LIST_FIELDS and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if key in ("relevant_ids", "tags"):
        return [v.strip() for v in value.split("|") if v.strip()]
    return value


def _case(path: Path, lineno: int, raw: Any) -> GoldenCase:
    if not isinstance(raw, dict):
        raise DatasetError("a case must be a JSON object", file=path, line=lineno)
    if "id" in raw and isinstance(raw["id"], int):
        raw = {**raw, "id": str(raw["id"])}
    try:
        return GoldenCase.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = {"missing": "is required"}.get(err["type"], err["msg"])
        raise DatasetError(msg, file=path, line=lineno, field=dotted(err["loc"]) or None) from None


def _validate_instructions(path: Path, lineno: int, case: GoldenCase) -> None:
    try:
        from cujeval.scorers.instructions import validate_instruction
    except ImportError:  # pragma: no cover - the family ships with cujeval
        return
    for ins in case.instructions:
        validate_instruction(ins.id, ins.kwargs, file=str(path), line=lineno)


def iter_cases(path: str | Path) -> Iterator[GoldenCase]:
    """Stream validated cases. Raises DatasetError with file:line:field."""
    path = Path(path)
    for lineno, raw in _raw_rows(path):
        case = _case(path, lineno, raw)
        if case.instructions:
            _validate_instructions(path, lineno, case)
        yield case


def inspect(path: str | Path) -> DatasetInfo:
    """Validate every case once (before anything runs) and digest the file."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError("no such dataset file", file=path)
    seen: dict[str, int] = {}
    n = 0
    for lineno, raw in _raw_rows(path):
        case = _case(path, lineno, raw)
        if case.instructions:
            _validate_instructions(path, lineno, case)
        if case.id in seen:
            raise DatasetError(
                f"duplicate id {case.id!r} (first at line {seen[case.id]})",
                file=path,
                line=lineno,
                field="id",
            )
        seen[case.id] = lineno
        n += 1
    if n == 0:
        raise DatasetError("the dataset has no cases", file=path)
    return DatasetInfo(path=path, digest=digest(path), n_cases=n)


__all__ = ["DatasetInfo", "InputError", "digest", "inspect", "iter_cases"]
