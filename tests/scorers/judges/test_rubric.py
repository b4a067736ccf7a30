"""The ``rubric`` scorer: a criterion in words graded by the judge, against a scripted judge on
127.0.0.1 that grades by a known rule (the phrases the criterion quotes must be in the answer;
tests/judge_server.py). Through the scorer, ``cujeval run`` on a support service that is good
or broken (two rubrics in one journey, the judge's reason in the reports, the judge's
account), ``--judge-epochs`` (self-agreement), the cache (the prompt version in its key), bad
options (exit 2 at the suite line), and pytest (``cuj_run``).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.helpers import cujeval as cli
from tests.judge_server import FakeJudge
from tests.support_service import BROKEN, GOOD, support_service

from cujeval.scorers import base as registry
from cujeval.scorers.base import Scores
from cujeval.scorers.judges import rubric as rubric_module
from cujeval.spec.records import Context, GoldenCase, Observation

pytest_plugins = ["pytester"]

REFUND = {
    "name": "offers-refund",
    "criteria": 'The answer apologises ("sorry") and offers a "refund".',
    "steps": ["Does the answer apologise?", "Does it say how to get a refund?"],
}
NO_PROMISES = {
    "name": "no-promises",
    "criteria": 'The answer mentions the "30 days" refund window.',
    "scale": "1-5",
    "pass_at": 4,
    "evidence": ["input", "contexts", "answer"],
}


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    with support_service() as url:
        yield url


def judge_block(judge: FakeJudge, cache: Path, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": judge.base_url,
        "model": "gemma",
        "max_retries": 0,
        "cache_dir": str(cache),
        "prices": {"gemma": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}},
        **extra,
    }


def grade(options: dict[str, Any], block: dict[str, Any], answers: list[str]) -> list[Scores]:
    scorer = registry.create("rubric", options, context={"judge": block})

    async def go() -> list[Scores]:
        case = GoldenCase(id="c", input="Can I get my money back?", reference="Yes, 30 days.")
        ctx = (Context(id="kb", text="Refunds within 30 days."),)
        return [await scorer(case, Observation(answer=a, contexts=ctx)) for a in answers]

    return asyncio.run(go())


def test_pass_fail_and_one_to_five_by_the_judges_rule(
    fake_judge: FakeJudge, tmp_path: Path
) -> None:
    block = judge_block(fake_judge, tmp_path / "cache")
    good, broken = grade(REFUND, block, [GOOD, BROKEN])
    assert good["rubric:offers-refund"].value is True
    assert good["rubric:offers-refund:score"].value == 1.0
    assert broken["rubric:offers-refund"].value is False
    why = broken["rubric:offers-refund"].explanation
    assert why == "fail: it never says 'sorry'; it never says 'refund'"
    meta = broken["rubric:offers-refund"].metadata
    assert (meta["rubric"], meta["scale"], meta["judge_scorer"]) == (
        "offers-refund",
        "pass_fail",
        "rubric:offers-refund",
    )
    assert meta["judge_calls"] == 1 and meta["prompt_version"] == rubric_module.PROMPT
    assert broken["judge_cost_usd"].value == pytest.approx((100 * 1 + 20 * 2) / 1e6)

    scored = grade(NO_PROMISES, block, [GOOD, "Sorry, a refund is possible.", BROKEN])
    assert [s["rubric:no-promises:score"].value for s in scored] == [5.0, 1.0, 1.0]
    assert [s["rubric:no-promises"].value for s in scored] == [True, False, False]
    assert scored[1]["rubric:no-promises"].explanation.startswith("1/5 (fails at 4): ")
    prompt = fake_judge.requests[-1]["messages"][-1]["content"]
    assert "<contexts>\n[1] Refunds within 30 days.\n</contexts>" in prompt
    assert "<question>\nCan I get my money back?\n</question>" in prompt
    assert "<reference>" not in prompt  # not in this rubric's evidence
    assert "1. " not in prompt and "Score from 1 to 5" in prompt
    first = fake_judge.requests[0]["messages"][-1]["content"]
    assert "Steps:\n1. Does the answer apologise?\n2. Does it say how to get a refund?" in first


def test_evidence_the_case_lacks_is_not_scorable(fake_judge: FakeJudge, tmp_path: Path) -> None:
    block = judge_block(fake_judge, tmp_path / "cache")
    scorer = registry.create(
        "rubric", {**REFUND, "evidence": ["reference", "answer"]}, context={"judge": block}
    )
    scores = asyncio.run(scorer(GoldenCase(id="c", input="q"), Observation(answer=GOOD)))
    assert scores["rubric:offers-refund"].value is None
    assert scores["rubric:offers-refund"].explanation == "the case has no reference answer"
    assert fake_judge.requests == []  # nothing sent


def test_the_prompt_version_is_part_of_the_cache_key(
    fake_judge: FakeJudge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = judge_block(fake_judge, tmp_path / "cache")
    grade(REFUND, block, [GOOD, BROKEN])
    assert len(fake_judge.requests) == 2
    again = grade(REFUND, block, [GOOD, BROKEN])
    assert len(fake_judge.requests) == 2  # answered from the cache
    assert again[1]["rubric:offers-refund"].metadata["judge_cache_hits"] == 1
    monkeypatch.setattr(rubric_module, "PROMPT", "rubric/test-next")
    grade(REFUND, block, [GOOD, BROKEN])
    assert len(fake_judge.requests) == 4  # a new template version asks again


def test_self_agreement_over_epochs(fake_judge: FakeJudge, tmp_path: Path) -> None:
    fake_judge.rubric_verdicts = ["pass", "fail", "pass"]
    block = judge_block(fake_judge, tmp_path / "cache", epochs=3)
    (scores,) = grade(REFUND, block, [GOOD])
    assert scores["rubric:offers-refund"].value is True  # 2 of 3
    assert scores["judge_agreement"].value == pytest.approx(2 / 3)
    assert scores["rubric:offers-refund"].metadata["epoch_values"].count(1.0) == 2
    fake_judge.rubric_verdicts, fake_judge._rubric = ["pass", "fail"], None
    block = judge_block(fake_judge, tmp_path / "cache2", epochs=2)
    (tie,) = grade(REFUND, block, [GOOD])
    assert tie["rubric:offers-refund"].value is False  # a split judge is not a pass
    assert tie["judge_agreement"].value == 0.5
    fake_judge.rubric_verdicts, fake_judge._rubric = ["5", "3"], None
    block = judge_block(fake_judge, tmp_path / "cache3", epochs=2)
    (spread,) = grade(NO_PROMISES, block, [GOOD])
    assert spread["rubric:no-promises:score"].value == 4.0
    assert spread["judge_agreement"].value == 0.5  # 1 - (5 - 3) / 4


def write_suite(directory: Path, url: str, judge: dict[str, Any], rubrics: list[Any]) -> Path:
    cases = [{"id": f"q{i}", "input": f"Can I get my money back for order {i}?"} for i in range(3)]
    (directory / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    suite = {
        "name": "rubrics",
        "targets": {"support": {"kind": "http", "url": url, "timeout_s": 5}},
        "settings": {"retries": 0},
        "judge": judge,
        "journeys": [
            {
                "name": "refunds",
                "dataset": "cases.jsonl",
                "target": "support",
                "scorers": [{"rubric": r} for r in rubrics],
                "slos": [
                    {"name": "refund", "good": "rubric:offers-refund == true", "every_case": True},
                    {"name": "window", "objective": "mean(rubric:no-promises:score) >= 4"},
                ],
            }
        ],
    }
    path = directory / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def test_two_rubrics_through_the_command_line(
    tmp_path: Path, service: str, fake_judge: FakeJudge
) -> None:
    judge = judge_block(fake_judge, tmp_path / "cache")
    write_suite(tmp_path, f"{service}/good/ask", judge, [REFUND, NO_PROMISES])
    r = cli("run", "suite.yaml", "--no-mlflow", "-o", "good", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads((tmp_path / "good" / "results.json").read_text())
    account = result["journeys"][0]["judge"]
    assert account["scorers"] == {"rubric:no-promises": 3, "rubric:offers-refund": 3}
    assert account["calls"] == 6 and account["failed"] == 0
    assert "judge gemma: 6 calls, 0 of 6 judgements failed" in r.stdout

    write_suite(tmp_path, f"{service}/broken/ask", judge, [REFUND, NO_PROMISES])
    r = cli("run", "suite.yaml", "--no-mlflow", "-o", "bad", "--judge-epochs", "3", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    console = " ".join(r.stdout.split())
    assert "refunds/refund BREACHED" in console
    assert (
        "q0 (0), q1 (0), q2 (0): fail over 3 epochs: it never says 'sorry'; it never says"
        in console
    )
    assert "refunds/window BREACHED" in console or "refunds/window INCONCLUSIVE" in console
    out = tmp_path / "bad"
    result = json.loads((out / "results.json").read_text())
    journey = result["journeys"][0]
    assert journey["judge"]["judgements"] == 3 * 2 * 3  # cases x rubrics x epochs
    slis = {s["name"]: s for s in journey["slis"]}
    assert slis["judge_agreement"]["mean"] == 1.0  # the rule never disagrees with itself
    assert slis["rubric:no-promises:score"]["mean"] == 1.0
    worst = journey["slos"][0]["worst_cases"][0]
    assert worst["why"].startswith("fail over 3 epochs: it never says 'sorry'")
    assert "it never says &#x27;refund&#x27;" in (out / "report.html").read_text()
    assert "it never says 'refund'" in (out / "summary.md").read_text()
    assert "it never says 'refund'" in (out / "junit.xml").read_text().replace("&apos;", "'")


@pytest.mark.parametrize(
    ("rubric", "message"),
    [
        ({"name": "x"}, "rubric 'x': 'criteria' must say in words"),
        ({**REFUND, "scale": "1-10"}, "'scale' must be pass_fail or 1-5, got '1-10'"),
        ({**REFUND, "pass_at": 4}, "'pass_at' goes with scale 1-5"),
        ({**REFUND, "scale": "1-5", "pass_at": 6}, "'pass_at' must be an integer from 1 to 5"),
        ({**REFUND, "evidence": ["answer", "docs"]}, "(not 'docs')"),
        ({**REFUND, "name": "a b"}, "'name' must be letters, digits"),
        ({**REFUND, "tone": "x"}, "unexpected keyword argument 'tone'"),
    ],
)
def test_bad_rubric_options_are_bad_input_at_the_suite_line(
    tmp_path: Path, fake_judge: FakeJudge, rubric: dict[str, Any], message: str
) -> None:
    judge = judge_block(fake_judge, tmp_path / "cache")
    path = write_suite(tmp_path, "http://127.0.0.1:9/ask", judge, [rubric, NO_PROMISES])
    line = path.read_text().splitlines().index("  - rubric:") + 1
    r = cli("run", "suite.yaml", "--no-mlflow", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"suite.yaml:{line}: field 'scorers': scorer 'rubric': " in r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr


def test_two_rubrics_of_one_name_are_bad_input(tmp_path: Path, fake_judge: FakeJudge) -> None:
    judge = judge_block(fake_judge, tmp_path / "cache")
    write_suite(tmp_path, "http://127.0.0.1:9/ask", judge, [REFUND, NO_PROMISES, REFUND])
    r = cli("run", "suite.yaml", "--no-mlflow", cwd=tmp_path)
    assert r.returncode == 2
    assert "writes the SLI 'rubric:offers-refund', which scorer 'rubric' writes too" in r.stderr


INI = """[pytest]
asyncio_default_fixture_loop_scope = function
addopts = -p no:hypothesispytest -p no:langsmith_plugin
"""

JOURNEY = """
import os

import pytest

from tests.support_service import BROKEN, GOOD

RUBRIC = {"name": "offers-refund", "criteria": 'It says "sorry" and offers a "refund".'}
JUDGE = {"base_url": os.environ["JUDGE_URL"], "model": "gemma", "cache_dir": None}


@pytest.mark.cuj(
    cases=[{"id": "q1", "input": "money back?"}],
    scorers=[{"rubric": RUBRIC}],
    judge=JUDGE,
    slos={"refund": {"good": "rubric:offers-refund == true", "every_case": True}},
)
@pytest.mark.parametrize("answer", [GOOD, BROKEN], ids=["good", "broken"])
def test_offers_refund(cuj_run, answer):
    assert cuj_run(target=lambda case: answer).slo("refund").met
"""


def test_cuj_run_with_a_rubric(
    pytester: pytest.Pytester, fake_judge: FakeJudge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_URL", fake_judge.base_url)
    root = str(Path(__file__).resolve().parents[3])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    pytester.makeini(INI)
    pytester.makepyfile(test_journey=JOURNEY)
    # in a process of its own: the judge's libraries (ragas, numpy) load once per process
    result = pytester.runpytest_subprocess(
        "--cuj-no-mlflow", "--cuj-output", "out", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1, failed=1)
    out = " ".join(result.stdout.str().split())
    assert "offers_refund[broken]/refund BREACHED" in out
    assert "q1 (0): fail: it never says 'sorry'; it never says 'refund'" in out
