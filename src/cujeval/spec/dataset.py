"""Golden datasets: JSONL (one case a line), CSV, JSON (an array of cases), or Parquet and
Arrow through `datasets` (the ``parquet`` extra). Validated up front with file:line:field
errors; streamed during the run; identified by a content digest."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cujeval._util.extras import missing
from cujeval._util.yamlsource import dotted
from cujeval.errors import DatasetError, InputError
from cujeval.spec.records import GoldenCase

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


_SNIFF_BYTES = 8192  # a NUL byte in the first 8 KiB means a binary file, not text


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 file, line endings kept; undecodable bytes and binary
    files raise DatasetError with the line and byte offset instead of a UnicodeDecodeError."""
    try:
        f = path.open("rb")
    except OSError as exc:
        raise DatasetError(f"cannot read: {exc.strerror}", file=path) from None
    with f:
        head = f.read(_SNIFF_BYTES)
        if b"\x00" in head:
            raise DatasetError(
                f"binary data (a NUL byte at offset {head.index(0)}), not a "
                f"{path.suffix.lstrip('.').upper()} text file",
                file=path,
                line=head.count(b"\n", 0, head.index(0)) + 1,
            )
        f.seek(0)
        offset = 0
        for lineno, raw in enumerate(f, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DatasetError(
                    f"not UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1} "
                    f"(byte offset {offset + exc.start}); save the file as UTF-8",
                    file=path,
                    line=lineno,
                ) from None
            yield lineno, text.removeprefix("\ufeff") if lineno == 1 else text
            offset += len(raw)


def raw_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, raw row) pairs; JSON syntax errors raised with their line."""
    suffix = path.suffix.lower()
    if suffix == ".json" and _starts_with(path, b"["):
        yield from _json_array(path)
    elif suffix in (".jsonl", ".ndjson", ".json"):  # a .json of one case a line, as `datasets`
        for lineno, text in _text_lines(path):
            if not text.strip():
                continue
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as exc:
                raise DatasetError(
                    f"invalid JSON: {exc.msg} (column {exc.colno})", file=path, line=lineno
                ) from None
            except RecursionError:
                raise DatasetError(
                    "invalid JSON: nested too deeply", file=path, line=lineno
                ) from None
            except ValueError as exc:  # e.g. an integer of more than 4300 digits
                raise DatasetError(f"invalid JSON: {exc}", file=path, line=lineno) from None
    elif suffix == ".csv":
        lines = _text_lines(path)
        reader = csv.DictReader(text for _, text in lines)
        try:
            for row in reader:
                yield (
                    reader.line_num,
                    {k: _csv_value(k, v) for k, v in row.items() if v not in (None, "")},
                )
        except csv.Error as exc:
            raise DatasetError(f"invalid CSV: {exc}", file=path, line=reader.line_num) from None
    else:
        kind = {".parquet": "parquet", ".arrow": "arrow"}.get(suffix)
        if kind is None:
            raise DatasetError(
                "unsupported dataset format; use .jsonl, .csv, .json or .parquet", file=path
            )
        if hint := missing("parquet", f"reading {suffix} files", "datasets"):
            raise DatasetError(hint, file=path)
        from datasets import load_dataset  # type: ignore[attr-defined]

        try:
            ds = load_dataset(kind, data_files=str(path), split="train")
        except Exception as exc:  # a damaged or mislabelled file, whatever the library says
            root: BaseException = exc
            for _ in range(10):  # the library wraps the parser's error: show the parser's
                inner = root.__cause__ or root.__context__
                if inner is None:
                    break
                root = inner
            reason = " ".join(str(root).split())[:200]
            raise DatasetError(
                f"cannot load as {kind}: {type(root).__name__}: {reason}", file=path
            ) from None
        for i, row in enumerate(ds, 1):
            yield i, {k: v for k, v in row.items() if v is not None}


def _starts_with(path: Path, mark: bytes) -> bool:
    """Is ``mark`` the file's first byte that is not white space (or a UTF-8 BOM)?"""
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES).removeprefix(b"\xef\xbb\xbf").lstrip()
    except OSError as exc:
        raise DatasetError(f"cannot read: {exc.strerror}", file=path) from None
    return head.startswith(mark)


def _json_array(path: Path) -> Iterator[tuple[int, Any]]:
    """The cases of a JSON array, numbered from 1 (null fields dropped, as for Parquet)."""
    text = "".join(line for _, line in _text_lines(path))
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"invalid JSON: {exc.msg} (column {exc.colno})", file=path, line=exc.lineno
        ) from None
    except RecursionError:
        raise DatasetError("invalid JSON: nested too deeply", file=path) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise DatasetError(f"invalid JSON: {exc}", file=path) from None
    for i, row in enumerate(rows, 1):
        yield i, {k: v for k, v in row.items() if v is not None} if isinstance(row, dict) else row


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


def iter_cases(path: str | Path) -> Iterator[GoldenCase]:
    """Stream validated cases. Raises DatasetError with file:line:field."""
    path = Path(path)
    for lineno, raw in raw_rows(path):
        yield _case(path, lineno, raw)


CaseCheck = Callable[[GoldenCase, Path, int], None]


def inspect(path: str | Path, *, check: CaseCheck | None = None) -> DatasetInfo:
    """Validate every case once (before anything runs) and digest the file. ``check`` is what
    the plugins know of a case (its instruction ids, by the instruction registry): it raises
    InputError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError("no such dataset file", file=path)
    seen: dict[str, int] = {}
    n = 0
    for lineno, raw in raw_rows(path):
        case = _case(path, lineno, raw)
        if check is not None:
            check(case, path, lineno)
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
