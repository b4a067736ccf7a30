"""`cujeval drift` end to end with the bundled MiniLM: exit 0 for two halves of the golden set,
1 with off-topic traffic (named as a coverage gap) or moved answers, 2 for bad input with file
and line and no traceback. The model loads once for the module (in-process CLI runs)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cujeval.cli import application
from tests.helpers import cujeval

app = application()
ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "datasets" / "support_rag.jsonl"
OFFTOPIC = Path(__file__).resolve().parent / "data" / "drift" / "offtopic.jsonl"
REFUSAL = "I couldn't find anything about that in the help centre, so I can't answer it reliably."


def drift(*args: str | Path) -> Any:
    return CliRunner().invoke(app, ["drift", *map(str, args)])


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two random halves of the golden set; the second half with a third off-topic; only
    off-topic questions."""
    d = tmp_path_factory.mktemp("drift")
    rows = [line for line in GOLDEN.read_text().splitlines() if line]
    random.Random(7).shuffle(rows)
    off = OFFTOPIC.read_text().splitlines()
    files = {
        "a": rows[:61],
        "b": rows[61:],
        # 41 help-centre questions, 10 MS MARCO and 10 HaluEval ones: a third off-topic
        "mixed": rows[61:102] + off[:10] + off[24:34],
    }
    out = {}
    for name, lines in files.items():
        out[name] = d / f"{name}.jsonl"
        out[name].write_text("\n".join(lines) + "\n")
    return out


def test_two_halves_of_the_golden_set_exit_0(samples: dict[str, Path], tmp_path: Path) -> None:
    r = drift(samples["a"], samples["b"], "--output", tmp_path)
    assert r.exit_code == 0, r.output
    assert "no drift at alpha 0.05" in r.output
    data = json.loads((tmp_path / "drift.json").read_text())
    assert data["drift"] is False and data["topics_source"] == "tags"
    assert (tmp_path / "drift.html").read_text().startswith("<!doctype html>")


def test_a_third_off_topic_exits_1_and_names_the_gap(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    r = drift(samples["a"], samples["mixed"], "--output", tmp_path)
    assert r.exit_code == 1, r.output
    assert "DRIFT at alpha 0.05" in r.output and "coverage gaps" in r.output
    data = json.loads((tmp_path / "drift.json").read_text())
    assert data["questions"] == {"shift": True, "where": True}
    coverage = next(t for t in data["tests"] if t["name"] == "coverage")
    assert coverage["drift"] and coverage["details"]["current"] >= 15  # of the 20 off-topic
    off = {json.loads(line)["input"] for line in OFFTOPIC.read_text().splitlines()}
    examples = [e["text"] for g in data["gaps"] for e in g["examples"]]
    assert examples and sum(e in off for e in examples) >= 0.8 * len(examples)
    assert sum(g["size"] for g in data["gaps"]) >= 15


def test_off_topic_traffic_exits_1(samples: dict[str, Path]) -> None:
    r = drift(samples["a"], OFFTOPIC, "--method", "both", "--permutations", "199")
    assert r.exit_code == 1, r.output
    assert "DRIFT embedding_mmd" in r.output and "DRIFT embedding_c2st" in r.output


# -- answers between runs -----------------------------------------------------------------------


def _run_folder(path: Path, run_id: str, answers: dict[str, str | None]) -> Path:
    path.mkdir(parents=True)
    result = {
        "run_id": run_id,
        "suite": "support_rag",
        "suite_path": "suites/support_rag.yaml",
        "started_at": "2026-12-01T00:00:00Z",
        "finished_at": "2026-12-01T00:01:00Z",
        "status": "completed",
        "cujeval_version": "0.1.0",
        "settings": {},
        "journeys": [],
        "gate": {
            "passed": True,
            "exit_code": 0,
            "policy": "default",
            "blocking": [],
            "warnings": [],
        },
    }
    (path / "results.json").write_text(json.dumps(result))
    with (path / "journal.jsonl").open("w") as f:
        for case_id, answer in answers.items():
            obs = {"answer": answer, "status": "ok"} if answer else {"status": "error"}
            row = {"journey": "grounded-answer", "case_id": case_id, "input": case_id}
            f.write(json.dumps({**row, "observation": obs}) + "\n")
    return path


@pytest.fixture(scope="module")
def answers() -> dict[str, str | None]:
    cases = [json.loads(line) for line in GOLDEN.read_text().splitlines()[:40]]
    return {c["id"]: f"{c['reference']} [{c['relevant_ids'][0]}]" for c in cases}


def test_same_answers_exit_0(answers: dict[str, str | None], tmp_path: Path) -> None:
    a = _run_folder(tmp_path / "a", "run-a", answers)
    b = _run_folder(tmp_path / "b", "run-b", {**answers, "q-003": None})
    r = drift("--runs", a, b, "--output", tmp_path / "out")
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "out" / "drift.json").read_text())
    assert data["kind"] == "answers" and data["n_paired"] == 39 and data["n_skipped"] == 1
    assert data["distance"]["max"] == pytest.approx(0.0, abs=1e-5) and data["moved"] == []


def test_answers_that_start_refusing_exit_1(answers: dict[str, str | None], tmp_path: Path) -> None:
    moved = sorted(answers)[:15]
    a = _run_folder(tmp_path / "a", "run-a", answers)
    b = _run_folder(tmp_path / "b", "run-b", {**answers, **dict.fromkeys(moved, REFUSAL)})
    r = drift("--runs", a, b, "--output", tmp_path / "out", "--top", "15")
    assert r.exit_code == 1, r.output
    data = json.loads((tmp_path / "out" / "drift.json").read_text())
    tests = {t["name"]: t for t in data["tests"]}
    assert tests["refusals"]["drift"] and tests["citations"]["drift"]
    assert data["summary"]["b"]["refusals"] == pytest.approx(15 / 40)
    assert {c["case_id"] for c in data["moved"]} == set(moved)
    assert data["n_flagged"] == 15
    html = (tmp_path / "out" / "drift.html").read_text()
    assert "couldn&#x27;t find anything" in html


# -- bad input: exit 2, file and line, no traceback ------------------------------------------------


def test_not_jsonl_names_file_and_line(samples: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "traffic.jsonl"
    bad.write_text('{"input": "fine"}\n{"input": "also fine"}\nthis is not json\n')
    r = cujeval("drift", str(samples["a"]), str(bad), timeout=120)
    assert r.returncode == 2, r.stderr
    assert f"{bad}:3: invalid JSON" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no rows: the sample is empty"),
        ('{"input": "one"}\n{"input": "two"}\n', "2 inputs; the tests need at least 5"),
        ('{"input": "ok"}\n{"text": "no input"}\n', ":2: field 'input': is required"),
    ],
)
def test_bad_traffic_exits_2(
    samples: dict[str, Path], tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "traffic.jsonl"
    bad.write_text(content)
    r = drift(samples["a"], bad)
    assert r.exit_code == 2 and message in r.output and str(bad) in r.output


def test_bad_flags_and_folders_exit_2(samples: dict[str, Path], tmp_path: Path) -> None:
    r = drift(samples["a"], samples["b"], "--alpha", "1.5")
    assert r.exit_code == 2 and "--alpha" in r.output
    r = drift(f"{ROOT / 'suites' / 'support_rag.yaml'}:nope", samples["b"])
    assert r.exit_code == 2 and "unknown journey 'nope'" in r.output
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    r = drift(tmp_path / "a", tmp_path / "b")
    assert r.exit_code == 2 and "add --runs" in r.output
    r = drift("--runs", tmp_path / "a", tmp_path / "b")
    assert r.exit_code == 2 and "no results.json here" in r.output
