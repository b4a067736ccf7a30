"""Human-labelled hallucination data (RAGTruth QA, HaluEval QA) as one record type.

Used to train and measure the support model, in benchmarks and tests; the scorer never reads it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cujeval.errors import DatasetError
from cujeval.grounding.claims import Claim

_PASSAGE = re.compile(r"passage \d+:", re.IGNORECASE)


@dataclass(frozen=True)
class LabelledResponse:
    """One answer with its question, contexts and human label.

    ``spans`` are the (start, end) character offsets of hallucinated text in ``answer``;
    ``group`` ties answers that share contexts, so cross-validation can keep them together.
    """

    id: str
    question: str
    contexts: tuple[str, ...]
    answer: str
    hallucinated: bool
    spans: tuple[tuple[int, int], ...] = ()
    group: str = ""


def split_passages(context: str) -> tuple[str, ...]:
    """``"passage 1: ... passage 2: ..."`` into its passages (the whole text when unnumbered)."""
    parts = [p.strip() for p in _PASSAGE.split(context)]
    passages = tuple(p for p in parts if p)
    return passages or (context.strip(),)


def load_ragtruth(path: str | Path) -> list[LabelledResponse]:
    """RAGTruth QA rows (JSONL: question, context, response, hallucinated, spans)."""
    out: list[LabelledResponse] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                row = json.loads(line)
                out.append(
                    LabelledResponse(
                        id=str(row["id"]),
                        question=row["question"],
                        contexts=split_passages(row["context"]),
                        answer=row["response"],
                        hallucinated=bool(row["hallucinated"]),
                        spans=tuple((int(s["start"]), int(s["end"])) for s in row["spans"]),
                        group=str(row.get("source_id", row["question"])),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise DatasetError(f"not a RAGTruth row: {exc}", file=path, line=number) from None
    return out


def load_halueval(path: str | Path) -> list[LabelledResponse]:
    """HaluEval QA items (a JSON list, or an object with an ``items`` list)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    items = data["items"] if isinstance(data, dict) else data
    out: list[LabelledResponse] = []
    for index, row in enumerate(items):
        try:
            out.append(
                LabelledResponse(
                    id=str(row.get("id", index)),
                    question=row["query"],
                    contexts=tuple(row["documents"]),
                    answer=row["response"],
                    hallucinated=bool(row["label"]),
                    group=row["query"],
                )
            )
        except (KeyError, TypeError) as exc:
            raise DatasetError(f"item {index}: not a HaluEval row: {exc}", file=path) from None
    return out


def claim_labels(claims: Sequence[Claim], spans: Sequence[tuple[int, int]]) -> list[bool]:
    """A claim is hallucinated when a labelled span overlaps it."""
    return [any(s < c.end and c.start < e for s, e in spans) for c in claims]
