"""Objectives qualified by a load rate (``p99(latency_s) <= 2.0 at 20/s``): judged only in a
load step at that rate; a run without load, and other steps, leave them out (with a note),
and never block on them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cujeval.load.engine import LoadEngine
from cujeval.load.profile import LoadProfile, LoadStep
from cujeval.pipeline import evaluate, evaluate_sync
from cujeval.spec.options import RunOptions
from cujeval.spec.predicates import parse_objective
from cujeval.spec.suite import load_suite
from tests.test_load import _suite

TARGET = {"kind": "python", "callable": "tests.test_load:fake_target"}
SLOS = [
    {"name": "no-errors", "good": "error == false", "target": 0.6},
    {"name": "fast-at-20", "objective": "p99(latency_s) <= 30 at 20/s"},
    # impossible: breaches wherever it is judged
    {"name": "instant-at-40", "objective": "max(latency_s) <= 0.000001 at 40/s"},
]


def test_the_rate_is_parsed_kept_in_the_text_and_checked() -> None:
    o = parse_objective("p99(latency_s) <= 2.0 at 20/s")
    assert (o.statistic, o.sli, o.op, o.bound, o.at_rate) == ("p99", "latency_s", "<=", 2.0, 20.0)
    assert str(o) == "p99(latency_s) <= 2 at 20/s"
    assert parse_objective("p99(latency_s) <= 2.0  at 2.5 / s").at_rate == 2.5
    assert parse_objective("p99(latency_s) <= 2.0").at_rate is None
    with pytest.raises(ValueError, match="above 0"):
        parse_objective("p99(latency_s) <= 2 at 0/s")
    with pytest.raises(ValueError, match="cannot parse"):
        parse_objective("p99(latency_s) <= 2 at 20")


def load(path: Path, tmp_path: Path, *rates: float) -> Any:
    options = RunOptions(output_dir=tmp_path / "out", progress=False, mlflow=False)
    profile = LoadProfile(steps=tuple(LoadStep(r, 1.0) for r in rates), metrics_url="")
    return asyncio.run(evaluate(load_suite(path), options, engine=LoadEngine(profile)))


def test_a_load_step_judges_the_objectives_at_its_rate_only(tmp_path: Path) -> None:
    path = _suite(tmp_path, TARGET, SLOS)
    result = load(path, tmp_path, 20, 40)
    by_step = {j.name: [s.name for s in j.slos] for j in result.journeys}
    assert by_step == {
        "j@20/s": ["no-errors", "fast-at-20"],
        "j@40/s": ["no-errors", "instant-at-40"],
    }
    assert [s["name"] for s in result.load["steps"][1]["slos"]] == by_step["j@40/s"]
    assert result.journeys[1].slos[1].verdict == "BREACHED"
    assert result.gate.exit_code == 1
    assert result.gate.blocking == ["j@40/s/instant-at-40 BREACHED"]


def test_an_objective_at_a_rate_no_step_ran_is_noted_not_judged(tmp_path: Path) -> None:
    result = load(_suite(tmp_path, TARGET, SLOS), tmp_path, 20)
    assert {s.name for s in result.journeys[0].slos} == {"no-errors", "fast-at-20"}
    assert result.gate.exit_code == 0
    assert any("instant-at-40" in n and "no step at 40/s" in n for n in result.notes)


def test_a_run_without_load_leaves_them_out_and_says_how_to_judge_them(tmp_path: Path) -> None:
    path = _suite(tmp_path, TARGET, SLOS)
    result = evaluate_sync(
        load_suite(path), RunOptions(output_dir=tmp_path / "o", progress=False, mlflow=False)
    )
    assert [s.name for s in result.journeys[0].slos] == ["no-errors"]
    assert result.gate.exit_code == 0  # the impossible objective was not judged here
    assert {g.slo for g in result.gate.slos} == {"no-errors"}
    notes = [n for n in result.notes if "judged under load only" in n]
    assert len(notes) == 2
    assert "cujeval load --journey j --rate 40" in notes[1]
    doc = json.loads(result.model_dump_json())
    assert doc["notes"] == result.notes


def test_the_load_section_reaches_summary_and_html_report(tmp_path: Path) -> None:
    from tests.helpers import cujeval

    path = _suite(tmp_path, TARGET, SLOS)
    out = tmp_path / "load"
    r = cujeval(
        "load", str(path), "--steps", "20,40", "--duration", "1s", "--no-progress",
        "--no-mlflow", "-o", str(out),
    )  # fmt: skip
    assert r.returncode == 1, r.stderr  # instant-at-40 breaches
    lines = (out / "summary.md").read_text().splitlines()
    assert lines[0].startswith("## cujeval · loadtest")
    assert {"### Load: loadtest / j", "#### Golden signals per step", "##### 40/s for 1 s"} < set(
        lines
    )
    page = (out / "report.html").read_text()
    assert "<h2>Load: j</h2>" in page
    assert "<td>20/s for 1 s</td>" in page and "<td>40/s for 1 s</td>" in page


def test_a_bad_rate_is_bad_input_naming_file_line_and_field(tmp_path: Path) -> None:
    from tests.helpers import cujeval

    slos = [*SLOS[:1], {"name": "zero", "objective": "p99(latency_s) <= 1 at 0/s"}]
    path = _suite(tmp_path, TARGET, slos)
    path.write_text(yaml.safe_dump(json.loads(path.read_text()), sort_keys=False))
    line = next(i for i, x in enumerate(path.read_text().splitlines(), 1) if "at 0/s" in x)
    r = cujeval("run", str(path), "--no-mlflow", "--no-progress", "-o", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"suite.yaml:{line}: field 'journeys[0].slos[1].objective'" in r.stderr, r.stderr
    assert "the rate after 'at' must be above 0" in r.stderr
