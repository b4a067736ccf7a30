"""Assertions that say what failed: a product check that fails on a case is reported with its
id, its arguments and what it found (the missing phrase, the forbidden match, the word count),
in every report of ``cujeval run`` (console, summary.md, report.html, junit.xml, results.json)
and in pytest's failure text, for journey-level and case-level checks alike.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

# what the in-process pytester runs import, imported once and kept across them
import cujeval.pytest_plugin.suites
import cujeval.reporters.html
import cujeval.reporters.junit
import cujeval.reporters.markdown
import cujeval.scorers.instructions
from tests.helpers import cujeval
from tests.support_service import support_service

pytest_plugins = ["pytester"]

MISSING = "product:required_phrases(phrases=['refund']): missing 'refund'"
FORBIDDEN = "product:forbidden_phrases(phrases=['guarantee']): found 'guarantee'"
NO_MATCH = r"product:regex(pattern='within \d+ days'): no match"


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    with support_service() as url:
        yield url


def write(directory: Path, url: str) -> Path:
    """A suite whose journey asks every answer for 'refund' and forbids 'guarantee', and whose
    second case also wants the refund window ('within N days')."""
    cases = [
        {"id": "r1", "input": "Can I get my money back?"},
        {
            "id": "r2",
            "input": "Refund, quickly?",
            "instructions": [{"id": "product:regex", "kwargs": {"pattern": r"within \d+ days"}}],
        },
    ]
    (directory / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    suite = {
        "name": "checks",
        "targets": {"support": {"kind": "http", "url": url, "timeout_s": 5}},
        "settings": {"retries": 0},
        "journeys": [
            {
                "name": "refunds",
                "dataset": "cases.jsonl",
                "target": "support",
                "instructions": [
                    {"id": "product:required_phrases", "kwargs": {"phrases": ["refund"]}},
                    {"id": "product:forbidden_phrases", "kwargs": {"phrases": ["guarantee"]}},
                ],
                "scorers": ["instruction_following"],
                "slos": [
                    {
                        "name": "follows",
                        "good": "instruction_following == true",
                        "every_case": True,
                    },
                    {
                        "name": "offers-refund",
                        "good": "instruction:product:required_phrases == true",
                        "every_case": True,
                    },
                ],
            }
        ],
    }
    path = directory / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def test_every_report_of_a_run_says_which_check_failed_and_what_it_found(
    tmp_path: Path, service: str
) -> None:
    write(tmp_path, f"{service}/good/ask")
    good = cujeval("run", "suite.yaml", "--no-mlflow", "-o", "good", cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr

    write(tmp_path, f"{service}/broken/ask")
    r = cujeval("run", "suite.yaml", "--no-mlflow", "-o", "out", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    console = " ".join(r.stdout.split())  # the console folds long lines
    assert "refunds/follows BREACHED" in console
    assert f"worst cases: r1 (0): failed 2 of 2: {MISSING}; {FORBIDDEN}" in console
    assert f"r2 (0): failed 3 of 3: {MISSING}; {FORBIDDEN}; {NO_MATCH}" in console
    assert "refunds/offers-refund BREACHED" in console and f"not followed: {MISSING}" in console

    out = tmp_path / "out"
    result = json.loads((out / "results.json").read_text())
    follows = result["journeys"][0]["slos"][0]
    assert [w["why"] for w in follows["worst_cases"]] == [
        f"failed 2 of 2: {MISSING}; {FORBIDDEN}",
        f"failed 3 of 3: {MISSING}; {FORBIDDEN}; {NO_MATCH}",
    ]
    summary = (out / "summary.md").read_text()
    assert "missing 'refund'" in summary and "found 'guarantee'" in summary
    assert r"product:regex(pattern='within \\d+ days'): no match" in summary
    page = html.unescape((out / "report.html").read_text())
    assert f"failed 3 of 3: {MISSING}; {FORBIDDEN}; {NO_MATCH}" in page
    root = ET.parse(out / "junit.xml").getroot()
    failures = {
        c.get("name"): c.find("failure").get("message")  # type: ignore[union-attr]
        for c in root.iter("testcase")
        if c.find("failure") is not None
    }
    assert set(failures) == {"follows", "offers-refund"}
    assert MISSING in failures["follows"] and FORBIDDEN in failures["follows"]
    rows = [json.loads(x) for x in (out / "journal.jsonl").read_text().splitlines()]
    failed = rows[0]["scores"]["instruction_following"]["metadata"]["failed"]
    assert failed[0] == {
        "id": "product:required_phrases",
        "kwargs": {"phrases": ["refund"]},
        "found": "missing 'refund'",
    }


INI = """[pytest]
asyncio_default_fixture_loop_scope = function
addopts = -p no:hypothesispytest -p no:langsmith_plugin
"""
JOURNEY = """
import pytest

from tests.support_service import BROKEN


def answer(case):
    return BROKEN


@pytest.mark.cuj(
    target=answer,
    cases=[{"id": "q1", "input": "money back?",
            "instructions": [{"id": "product:max_words", "kwargs": {"max_words": 10}}]}],
    instructions=[{"id": "product:no_pii"}],
    scorers=["instruction_following"],
    slos={"follows": {"good": "instruction_following == true", "every_case": True}},
)
def test_refund_answer(cuj_run):
    assert cuj_run().slo("follows").met
"""


def test_pytest_failure_text_says_which_check_failed(
    pytester: pytest.Pytester, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    pytester.makeini(INI)
    write(pytester.path, f"{service}/broken/ask")
    pytester.makepyfile(test_journey=JOURNEY)
    result = pytester.runpytest("--cuj-no-mlflow", "--cuj-output", "out", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=3)  # the suite's run item passes: no scorer errors
    out = " ".join(result.stdout.str().split())
    # a suite file's SLO items fail with the verdict and what each worst case failed
    assert "refunds/offers-refund BREACHED" in out
    assert f"r1 (0), r2 (0): not followed: {MISSING}" in out  # one reason, said once
    assert f"failed 3 of 3: {MISSING}; {FORBIDDEN}; {NO_MATCH}" in out
    # a journey written in Python: the failed assertion's report section says it too
    assert "product:max_words(max_words=10): 19 words" in out
    assert "product:no_pii: found email he…om" in out
    section: Any = out.split("cujeval verdicts")[1]
    assert "refund_answer/follows BREACHED" in section and "found email he…om" in section
