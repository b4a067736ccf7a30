"""SLOs on saturation (``saturation.<series>``: a gauge or counter rate scraped from the
target's /metrics once a second during ``cujeval load``): judged over the scrapes of each
step, against the real reference RAG service's /metrics; left out of runs without load."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cujeval.load.engine import LoadEngine
from cujeval.load.profile import LoadProfile, LoadStep
from cujeval.pipeline import evaluate, evaluate_sync
from cujeval.spec.options import RunOptions
from cujeval.spec.suite import load_suite
from tests.helpers import write_rag_suite

IN_FLIGHT = "cujeval_rag_in_flight_requests"
SLOS = [
    {"name": "no-errors", "good": "error == false", "target": 0.5},
    {"name": "in-flight", "objective": f"mean(saturation.{IN_FLIGHT}) <= 1000"},
    {"name": "in-flight-low", "good": f"saturation.{IN_FLIGHT} <= 1000", "target": 0.5},
    {"name": "typo", "objective": "max(saturation.cujeval_rag_in_fligth) <= 1"},
]


def suite(tmp_path: Path, url: str, slos: list[dict[str, Any]]) -> Path:
    return write_rag_suite(tmp_path / "suite.yaml", url, slos, name="sat")


def test_saturation_slos_are_judged_over_the_scrapes_of_a_step(
    tmp_path: Path, rag_service: str
) -> None:
    options = RunOptions(output_dir=tmp_path / "out", progress=False, mlflow=False)
    profile = LoadProfile(steps=(LoadStep(20, 4.0),))
    result = asyncio.run(
        evaluate(
            load_suite(suite(tmp_path, rag_service, SLOS)), options, engine=LoadEngine(profile)
        )
    )
    slos = {s.name: s for s in result.journeys[0].slos}
    scraped = result.load["steps"][0]["saturation"][IN_FLIGHT]
    assert scraped["n"] >= 3  # one scrape a second for four seconds
    assert slos["in-flight"].n == scraped["n"]
    assert slos["in-flight"].estimate == pytest.approx(scraped["mean"])
    assert slos["in-flight-low"].n == scraped["n"]
    assert slos["in-flight-low"].estimate == 1.0  # every scrape at or under 1000
    assert slos["typo"].verdict == "NO_DATA" and slos["typo"].n == 0
    assert any("no series 'cujeval_rag_in_fligth' was scraped" in n for n in result.notes)
    assert result.gate.exit_code == 1  # NO_DATA blocks: a misspelt gauge never passes
    assert any("typo" in b for b in result.gate.blocking)


def test_a_run_without_load_leaves_saturation_slos_out(tmp_path: Path, rag_service: str) -> None:
    path = suite(tmp_path, rag_service, SLOS)
    options = RunOptions(output_dir=tmp_path / "out", progress=False, mlflow=False, limit=5)
    result = evaluate_sync(load_suite(path), options)
    assert [s.name for s in result.journeys[0].slos] == ["no-errors"]
    assert result.gate.exit_code == 0
    notes = [n for n in result.notes if "judged under load only" in n]
    assert len(notes) == 3 and notes[0].endswith("cujeval load --journey answer")


def test_a_saturation_slo_cannot_be_a_step_of_journey_success(tmp_path: Path) -> None:
    from cujeval.errors import SuiteError

    slos = [*SLOS[:3], {"name": "ok", "all_of": ["no-errors", "in-flight-low"], "target": 0.5}]
    with pytest.raises(SuiteError, match="all_of names 'in-flight-low', which is not a ratio"):
        load_suite(suite(tmp_path, "http://127.0.0.1:9", slos))
