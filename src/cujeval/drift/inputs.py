"""Reading the two samples of ``cujeval drift``: golden inputs and a sample of traffic.

Reference: a golden dataset (through :mod:`cujeval.spec.dataset`) or ``SUITE.yaml:JOURNEY``.
Current: JSONL, CSV, JSON or Parquet rows, or a local Hugging Face ``datasets`` folder; each row
holds ``input`` (a string or chat messages) or ``question``, as ``cujeval score`` reads them.
Bad input raises a DatasetError naming file, line and field.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cujeval._util.extras import missing
from cujeval.errors import DatasetError, InputError, UnknownNameError

_SUITE_SUFFIXES = (".yaml", ".yml")


@dataclass
class Sample:
    source: str
    texts: list[str] = field(default_factory=list)
    tags: list[tuple[str, ...]] = field(default_factory=list)
    clusters: list[str | None] = field(default_factory=list)

    def topics(self, how: str) -> tuple[list[str | None] | None, str | None]:
        """Topic labels of the golden inputs: ``cluster``, ``tags`` (the first tag), or
        ``auto`` (clusters when every case has one and they are few, else first tags when
        most cases have tags); ``embeddings`` or nothing usable: None (cluster them)."""
        n = len(self.texts)
        clusters = self.clusters
        firsts: list[str | None] = [t[0] if t else None for t in self.tags]
        if how == "cluster":
            return clusters, "cluster"
        if how == "tags":
            return firsts, "tags"
        if how == "auto":
            distinct = {c for c in clusters if c}
            if all(clusters) and 2 <= len(distinct) <= max(2, n // 5):
                return clusters, "cluster"
            if sum(1 for f in firsts if f) >= 0.8 * n and len({f for f in firsts if f}) >= 2:
                return firsts, "tags"
        return None, None


def read_reference(spec: str) -> Sample:
    """Golden inputs from a dataset file or ``SUITE.yaml:JOURNEY``."""
    from cujeval.spec.dataset import iter_cases

    path = _reference_path(spec)
    if not path.is_file():
        raise DatasetError("no such dataset file", file=path)
    sample = Sample(source=str(path))
    for case in iter_cases(path):
        text = case.question
        if not text.strip():
            raise DatasetError(f"case {case.id!r} has an empty input", file=path, field="input")
        sample.texts.append(text)
        sample.tags.append(tuple(case.tags))
        sample.clusters.append(case.cluster)
    if not sample.texts:
        raise DatasetError("the dataset has no cases", file=path)
    return sample


def _reference_path(spec: str) -> Path:
    from cujeval.spec.suite import load_suite

    plain = Path(spec)
    suite_part, colon, journey = spec.rpartition(":")
    if colon and not plain.exists() and suite_part.lower().endswith(_SUITE_SUFFIXES):
        suite = load_suite(suite_part)
        names = [j.name for j in suite.journeys]
        for j in suite.journeys:
            if j.name == journey:
                return suite.dataset_path(j)
        raise UnknownNameError("journey", journey, names, file=suite_part)
    if plain.suffix.lower() in _SUITE_SUFFIXES:
        suite = load_suite(plain)
        if len(suite.journeys) == 1:
            return suite.dataset_path(suite.journeys[0])
        raise InputError(
            "name the journey as SUITE.yaml:JOURNEY; the journeys are: "
            + ", ".join(j.name for j in suite.journeys),
            file=plain,
        )
    return plain


def read_current(path: Path) -> Sample:
    """Inputs of a traffic sample; every row needs ``input`` or ``question``."""
    if not path.exists():
        raise DatasetError("no such file", file=path)
    sample = Sample(source=str(path))
    rows = _hf_rows(path) if path.is_dir() else _file_rows(path)
    for line, raw in rows:
        sample.texts.append(_text(path, line, raw))
    if not sample.texts:
        raise DatasetError("no rows: the sample is empty", file=path)
    return sample


def _file_rows(path: Path) -> Iterator[tuple[int, Any]]:
    from cujeval.spec.dataset import raw_rows

    yield from raw_rows(path)


def _hf_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """Rows of a local Hugging Face dataset folder: one saved with ``save_to_disk``, or a folder
    of data files ``datasets`` can load. Nothing is fetched from the hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    if hint := missing("parquet", "reading a Hugging Face dataset folder", "datasets"):
        raise DatasetError(hint, file=path)
    import datasets

    saved = any((path / name).exists() for name in ("state.json", "dataset_dict.json"))
    try:
        if saved:
            loaded: Any = datasets.load_from_disk(str(path))  # type: ignore[attr-defined]
        else:
            loaded = datasets.load_dataset(str(path))  # type: ignore[attr-defined]
    except Exception as exc:  # whatever the library raises for a folder it cannot read
        reason = " ".join(str(exc).split())[:200]
        raise DatasetError(
            f"cannot load as a Hugging Face dataset: {type(exc).__name__}: {reason}", file=path
        ) from None
    if isinstance(loaded, datasets.DatasetDict):  # type: ignore[attr-defined]
        splits = list(loaded)
        if "train" in loaded:
            loaded = loaded["train"]
        elif len(splits) == 1:
            loaded = loaded[splits[0]]
        else:
            raise DatasetError(
                f"several splits ({', '.join(splits)}) and none is 'train'; save one split",
                file=path,
            )
    yield from enumerate(loaded, 1)


def _text(path: Path, line: int, raw: Any) -> str:
    if not isinstance(raw, dict):
        raise DatasetError("a row must be a JSON object", file=path, line=line)
    has_input = raw.get("input") is not None
    value = raw.get("input") if has_input else raw.get("question")
    name = "input" if has_input else "question"
    if value is None:
        raise DatasetError("is required (or 'question')", file=path, line=line, field="input")
    if isinstance(value, str):
        text = value
    elif isinstance(value, list):
        text = _last_user_turn(path, line, value)
    else:
        raise DatasetError(
            f"must be a string or a list of chat messages, not {type(value).__name__}",
            file=path,
            line=line,
            field=name,
        )
    if not text.strip():
        raise DatasetError("is empty", file=path, line=line, field=name)
    return text


def _last_user_turn(path: Path, line: int, messages: list[Any]) -> str:
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise DatasetError(
                "a chat message needs 'role' and a string 'content'",
                file=path,
                line=line,
                field=f"input.{i}",
            )
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message["content"])
    return str(messages[-1]["content"]) if messages else ""
