"""The bundled help-centre corpus and the golden datasets written for it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cujeval.reference.corpus import load_articles
from cujeval.spec.records import GoldenCase

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "datasets" / "helpcentre" / "articles.jsonl"
GOLDEN = REPO / "datasets" / "support_rag.jsonl"
INSTRUCTED = REPO / "datasets" / "support_rag_instructions.jsonl"


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_corpus_has_60_or_more_articles_of_80_to_250_words() -> None:
    articles = load_articles(CORPUS)
    assert len(articles) >= 60
    assert len({a.id for a in articles}) == len(articles)
    for article in articles:
        assert re.fullmatch(r"kb-\d{3}", article.id)
        assert 80 <= len(article.text.split()) <= 250, article.id
    assert len({a.section for a in articles}) >= 10


def test_corpus_readme_states_origin_and_licence() -> None:
    readme = (REPO / "datasets" / "helpcentre" / "README.md").read_text()
    assert "CC0" in readme


@pytest.mark.parametrize(("path", "minimum"), [(GOLDEN, 80), (INSTRUCTED, 10)])
def test_golden_cases_are_valid_and_point_at_real_articles(path: Path, minimum: int) -> None:
    known = {a.id for a in load_articles(CORPUS)}
    cases = [GoldenCase.model_validate(row) for row in rows(path)]
    assert len(cases) >= minimum
    assert len({c.id for c in cases}) == len(cases)
    for case in cases:
        assert case.reference and case.tags and case.cluster
        assert case.relevant_ids is not None and 1 <= len(case.relevant_ids) <= 3, case.id
        assert set(case.relevant_ids) <= known, case.id
        assert len(set(case.relevant_ids)) == len(case.relevant_ids), case.id


def test_ids_are_unique_across_both_golden_files() -> None:
    ids = [row["id"] for row in rows(GOLDEN) + rows(INSTRUCTED)]
    assert len(ids) == len(set(ids))


def test_instruction_cases_carry_verifiable_instructions() -> None:
    cases = [GoldenCase.model_validate(row) for row in rows(INSTRUCTED)]
    assert all(case.instructions for case in cases)
    ids = {i.id for case in cases for i in case.instructions}
    assert {"length_constraints:number_words", "cites_sources"} <= ids
    words = [
        i.kwargs
        for case in cases
        for i in case.instructions
        if i.id == "length_constraints:number_words"
    ]
    assert all(k["relation"] == "less than" and k["num_words"] > 0 for k in words)
