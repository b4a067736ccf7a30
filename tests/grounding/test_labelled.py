"""The labelled data loaders on the shipped test slices."""

from __future__ import annotations

from pathlib import Path

import pytest

from cujeval.errors import DatasetError
from cujeval.grounding.claims import split_claims
from cujeval.grounding.labelled import (
    claim_labels,
    load_halueval,
    load_ragtruth,
    split_passages,
)

DATA = Path(__file__).parents[1] / "data"


def test_ragtruth_slice() -> None:
    rows = load_ragtruth(DATA / "ragtruth_slice.jsonl")
    assert len(rows) == 40
    assert sum(r.hallucinated for r in rows) == 20
    assert all(len(r.contexts) == 3 for r in rows)
    assert all(bool(r.spans) == r.hallucinated for r in rows)


def test_halueval_slice() -> None:
    rows = load_halueval(DATA / "halueval_slice.json")
    assert len(rows) == 40
    assert sum(r.hallucinated for r in rows) == 20
    assert all(len(r.contexts) == 1 for r in rows)


def test_split_passages() -> None:
    assert split_passages("passage 1:A b.\n\npassage 2:C d.\n\n") == ("A b.", "C d.")
    assert split_passages("plain text") == ("plain text",)


def test_claim_labels_follow_span_overlap() -> None:
    answer = "Eggs boil fast. They turn blue. Peel them."
    start = answer.index("They")
    labels = claim_labels(split_claims(answer), [(start + 5, start + 9)])
    assert labels == [False, True, False]


def test_span_labels_land_on_claims_in_the_slice() -> None:
    for row in load_ragtruth(DATA / "ragtruth_slice.jsonl"):
        if row.hallucinated:
            assert any(claim_labels(split_claims(row.answer), row.spans)), row.id


def test_bad_row_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('# provenance\n{"id": 1}\n')
    with pytest.raises(DatasetError, match=r"bad.jsonl:2"):
        load_ragtruth(path)
