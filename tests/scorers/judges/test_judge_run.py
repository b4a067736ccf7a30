"""The judge's account of a run: a suite run against a real target and a scripted judge, both
on 127.0.0.1; its journal rows summed by judge_summary (calls, failures by reason, tokens,
cost, agreement with the offline scorer), shown in the console, kept in results.json; and the
command line: ``cujeval score`` with a judge, ``cujeval cache clear``."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console
from tests.helpers import cujeval, write_suite
from tests.judge_server import FakeJudge

from cujeval.pipeline import evaluate_sync
from cujeval.reporters.console import render
from cujeval.scorers.judges.summary import describe, judge_metrics, judge_summary
from cujeval.spec.journal import read_rows
from cujeval.spec.options import RunOptions
from cujeval.spec.results import JudgeAccount, RunResult
from cujeval.spec.suite import load_suite

PRICES = {"gemma": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}
CALL_USD = (100 * 1.0 + 20 * 2.0) / 1_000_000  # one scripted reply: 100 in, 20 out


def judged_suite(
    tmp_path: Path, url: str, judge: FakeJudge, n: int, scorers: list[Any], **block: Any
) -> Path:
    path = write_suite(
        tmp_path,
        url=f"{url}/answer",
        n=n,
        scorers=scorers,
        slos=[{"name": "grounded", "good": "llm_faithfulness >= 0.8", "target": 0.5}],
    )
    suite = yaml.safe_load(path.read_text())
    suite["judge"] = {
        "base_url": judge.base_url,
        "model": "gemma",
        "max_retries": 0,
        "cache_dir": str(tmp_path / "judge-cache"),
        "prices": PRICES,
        **block,
    }
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def run(path: Path, out: Path) -> tuple[RunResult, list[Any]]:
    result = evaluate_sync(
        load_suite(path), RunOptions(output_dir=out, progress=False, mlflow=False)
    )
    return result, list(read_rows(out / "journal.jsonl"))


def console_text(result: RunResult) -> str:
    buffer = io.StringIO()
    render(result, Console(file=buffer, width=200, color_system=None))
    return buffer.getvalue()


@pytest.mark.slow  # the offline faithfulness scorer loads MiniLM
def test_both_faithfulness_scorers_report_their_agreement(
    tmp_path: Path, fault_server: Any, fake_judge: FakeJudge
) -> None:
    url, _ = fault_server
    fake_judge.nli_verdicts = [[1, 1], [1, 0]]  # every other case: one claim unsupported
    path = judged_suite(tmp_path, url, fake_judge, 6, ["error", "faithfulness", "llm_faithfulness"])
    result, rows = run(path, tmp_path / "o")
    summary = judge_summary(rows)

    assert summary["scorers"] == {"llm_faithfulness": 6}
    assert summary["judgements"] == 6 and summary["failed"] == 0
    assert summary["calls"] == 12 == len(fake_judge.requests)  # claims, then verdicts
    assert summary["prompt_tokens"] == 1200 and summary["completion_tokens"] == 240
    assert summary["cost_usd"] == pytest.approx(12 * CALL_USD)
    assert set(summary["failures"].values()) == {0}

    agreed = summary["agreement"]
    assert agreed["n_cases"] == agreed["n_rows"] == 6
    table = agreed["table"]
    assert sum(table.values()) == 6
    assert table["both"] + table["judge_only"] == 3  # the judge flagged every other case
    assert agreed["n_disagree"] == table["offline_only"] + table["judge_only"]
    assert agreed["agreement"] == pytest.approx(1 - agreed["n_disagree"] / 6)
    by_id = {r.case_id: r.scores for r in rows}
    for entry in agreed["disagreements"]:
        scores = by_id[entry["case_id"]]
        assert scores["hallucination"]["value"] != scores["llm_hallucination"]["value"]
        assert entry["faithfulness"] == scores["faithfulness"]["value"]

    journey = result.journeys[0].model_copy(update={"judge": JudgeAccount.model_validate(summary)})
    kept = result.model_copy(update={"journeys": [journey]})
    kept.write(tmp_path / "o")
    again = RunResult.read(tmp_path / "o")
    assert again.journeys[0].judge == json.loads(json.dumps(summary))
    text = console_text(again)
    assert "j: judge gemma: 12 calls, 0 of 6 judgements failed" in text
    assert "agrees with offline faithfulness on" in text


def test_a_judge_cut_at_max_tokens_is_counted_and_named(
    tmp_path: Path, fault_server: Any, fake_judge: FakeJudge
) -> None:
    url, _ = fault_server
    fake_judge.mode = "max_tokens"
    path = judged_suite(tmp_path, url, fake_judge, 4, ["error", "llm_faithfulness"], max_tokens=8)
    result, rows = run(path, tmp_path / "o")

    assert result.gate.exit_code == 1  # four scorer errors, none allowed
    assert result.journeys[0].scorer_errors == {"llm_faithfulness": 4}
    summary = judge_summary(rows)
    assert summary["failed"] == 4 and summary["failures"]["max_tokens"] == 4
    cause = "judge output cut at max_tokens=8; raise judge.max_tokens or use a larger model"
    assert summary["causes"] == {"max_tokens": cause}
    assert summary["calls"] == 4 and summary["completion_tokens"] == 4 * 8
    metrics = judge_metrics(summary)
    assert metrics["judge.failures.max_tokens"] == 4.0 and metrics["judge.calls"] == 4.0
    assert metrics["judge.failures.bad_json"] == 0.0
    line = describe(summary)
    assert "4 of 4 judgements failed (max_tokens 4)" in line and cause in line


def test_a_judge_that_answers_well_and_a_rerun_from_the_cache(
    tmp_path: Path, fault_server: Any, fake_judge: FakeJudge
) -> None:
    url, _ = fault_server
    path = judged_suite(tmp_path, url, fake_judge, 3, ["error", "llm_faithfulness"])
    result, rows = run(path, tmp_path / "a")
    assert result.gate.exit_code == 0
    first = judge_summary(rows)
    assert (first["calls"], first["cache_hits"], first["failed"]) == (6, 0, 0)
    _, rows = run(path, tmp_path / "b")
    second = judge_summary(rows)
    assert (second["calls"], second["cache_hits"], second["tokens"]) == (0, 6, 0)
    assert second["cost_usd"] == 0.0
    assert "agreement" not in second  # no offline faithfulness in this journey


def test_no_judge_no_summary(tmp_path: Path, fault_server: Any) -> None:
    url, _ = fault_server
    path = write_suite(tmp_path, url=f"{url}/answer", n=2)
    _, rows = run(path, tmp_path / "o")
    assert judge_summary(rows) == {}
    assert judge_metrics({}) == {} and describe({}) == ""


def write_rows(path: Path, n: int) -> Path:
    with path.open("w") as f:
        for i in range(n):
            row = {
                "id": f"r{i}",
                "input": "Where is Paris?",
                "answer": f"Paris is in France. It is big. ({i})",
                "contexts": ["Paris is the capital of France."],
            }
            f.write(json.dumps(row) + "\n")
    return path


def test_cujeval_score_takes_a_judge_from_flags_or_a_suite(
    tmp_path: Path, fault_server: Any, fake_judge: FakeJudge
) -> None:
    rows = write_rows(tmp_path / "rows.jsonl", 2)
    cache = str(tmp_path / "cache")
    r = cujeval(
        "score", "--input", str(rows), "--scorer", "llm_faithfulness",
        "--judge-url", fake_judge.base_url, "--judge-model", "gemma",
        "--output", str(tmp_path / "flags.jsonl"),
        env={**_env(), "XDG_CACHE_HOME": cache},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    scored = [json.loads(t) for t in (tmp_path / "flags.jsonl").read_text().splitlines()]
    assert [s["scores"]["llm_faithfulness"]["value"] for s in scored] == [1.0, 1.0]
    assert "judge gemma: 4 calls, 0 of 2 judgements failed, 480 tokens" in r.stderr
    assert Path(cache, "cujeval", "judge", "cache.db").exists()  # the user cache directory

    url, _ = fault_server
    fake_judge.nli_verdicts, fake_judge._nli = [[1, 0]], None  # from now on: one unsupported
    suite = judged_suite(tmp_path, url, fake_judge, 1, ["error", "llm_faithfulness"])
    r = cujeval(
        "score", "--input", str(rows), "--scorer", "llm_faithfulness", "--suite", str(suite),
        "--output", str(tmp_path / "suite.jsonl"), env=_env(),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    scored = [json.loads(t) for t in (tmp_path / "suite.jsonl").read_text().splitlines()]
    assert scored[0]["scores"]["llm_hallucination"]["value"] is True
    assert scored[0]["scores"]["judge_cost_usd"]["value"] == pytest.approx(2 * CALL_USD)
    meta = scored[0]["scores"]["judge_cost_usd"]["metadata"]
    assert meta["price_table"] == {"gemma": "suite"}  # the suite's prices priced the judge


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--judge-model", "gemma"], "--judge-url"),
        (["--judge-url", "http://127.0.0.1:9/v1"], "--judge-model"),
        (["--judge-url", "127.0.0.1:9", "--judge-model", "g"], "judge.base_url"),
        (["--scorer", "llm_faithfulness"], "needs a judge"),
    ],
)
def test_cujeval_score_bad_judge_flags_are_bad_input(
    tmp_path: Path, args: list[str], words: str
) -> None:
    rows = write_rows(tmp_path / "rows.jsonl", 1)
    base = ["score", "--input", str(rows), "--scorer", "token_f1"]
    r = cujeval(*base, *args, env=_env())
    assert r.returncode == 2, r.stderr
    assert words in r.stderr and "Traceback" not in r.stderr


def test_cujeval_cache_clear_and_info(tmp_path: Path, fake_judge: FakeJudge) -> None:
    rows = write_rows(tmp_path / "rows.jsonl", 1)
    folder = tmp_path / "cache"
    r = cujeval(
        "score", "--input", str(rows), "--scorer", "llm_faithfulness",
        "--judge-url", fake_judge.base_url, "--judge-model", "gemma",
        env={**_env(), "XDG_CACHE_HOME": str(folder)},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    judge_dir = folder / "cujeval" / "judge"
    env = {**_env(), "XDG_CACHE_HOME": str(folder)}

    r = cujeval("cache", "info", env=env)
    assert r.returncode == 0 and f"{judge_dir}: 2 answers" in r.stdout, r.stdout + r.stderr
    r = cujeval("cache", "clear", "--dir", str(judge_dir), env=_env())
    assert r.returncode == 0 and "removed 2 cached judge answers" in r.stdout, r.stderr
    r = cujeval("cache", "info", "--dir", str(judge_dir), env=_env())
    assert "0 answers" in r.stdout
    assert cujeval("cache", "clear", "--dir", str(tmp_path / "none"), env=_env()).returncode == 0
    (tmp_path / "keep.txt").write_text("x")  # not a cache: nothing is touched
    r = cujeval("cache", "clear", "--dir", str(tmp_path), env=_env())
    assert "removed 0" in r.stdout and (tmp_path / "keep.txt").exists()


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
