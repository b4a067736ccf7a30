"""The pytest plugin, through pytester: suite files collected as items, outcomes read from the
gate, options, xdist, pytest-asyncio, journeys written in Python, and plain runs left alone.

Suites here target a Python callable (``svc.py``), so nothing listens on a port. Most runs are
in-process (the heavy modules below are imported once, before pytester snapshots sys.modules)
and each covers several behaviours, to keep the file fast.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy.ma
import numpy.random  # noqa: F401 - what runs import, imported once and kept across runs
import pytest
import yaml

import cujeval._util.paths
import cujeval._util.progress
import cujeval.core.gate
import cujeval.engine.run
import cujeval.reporters.console
import cujeval.reporters.html
import cujeval.reporters.junit
import cujeval.reporters.markdown
import cujeval.scorers.operational
import cujeval.scorers.similarity
import cujeval.targets.http
import cujeval.targets.python
import cujeval.tracking.history
import cujeval.tracking.logger

pytest_plugins = ["pytester"]

SVC = '''
def answer(case, mode="good", log=None):
    """A stand-in service: every case good, every odd case failing, or down."""
    if log:
        with open(log, "a") as f:
            f.write(case.id + "\\n")
    if mode == "down" or (mode == "errors" and int(case.id[1:]) % 2):
        raise RuntimeError("the service is down")
    return {"answer": "an answer to " + case.question, "contexts": [{"id": "d1", "text": "t"}]}
'''

NO_ERRORS = {"name": "no-errors", "good": "error == false", "target": 0.9}
LOOSE = {"name": "mostly-up", "good": "error == false", "target": 0.5}
FAST = {"name": "fast", "objective": "mean(latency_s) <= 5"}
# pytest-asyncio is installed: say its loop scope, as the repo does; plugins unrelated to
# these runs stay out of them
INI = """[pytest]
asyncio_default_fixture_loop_scope = function
addopts = -p no:hypothesispytest -p no:langsmith_plugin
"""


@pytest.fixture(autouse=True)
def _ini(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(svc=SVC)
    pytester.syspathinsert()


def make_suite(
    pytester: pytest.Pytester,
    *,
    name: str = "s",
    n: int = 20,
    mode: str = "good",
    slos: list[dict[str, Any]] | None = None,
    scorers: list[Any] | None = None,
    settings: dict[str, Any] | None = None,
    journeys: int = 1,
    log: bool = False,
) -> Path:
    """``<name>.yaml``: ``journeys`` journeys over ``<name>.jsonl`` (cases c0 .. c<n-1>)."""
    rows = [{"id": f"c{i}", "input": f"question {i}"} for i in range(n)]
    (pytester.path / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    kwargs: dict[str, Any] = {"mode": mode}
    if log:
        kwargs["log"] = str(pytester.path / f"{name}.calls")
    suite = {
        "version": 1,
        "name": name,
        "targets": {"svc": {"kind": "python", "callable": "svc:answer", "kwargs": kwargs}},
        "settings": {"concurrency": 4, "retries": 0, **(settings or {})},
        "journeys": [
            {
                "name": f"j{k}" if journeys > 1 else "j",
                "dataset": f"{name}.jsonl",
                "target": "svc",
                "scorers": scorers or ["error", "latency_s"],
                "slos": slos or [LOOSE, FAST],
            }
            for k in range(journeys)
        ],
    }
    path = pytester.path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def calls(pytester: pytest.Pytester, name: str = "s") -> list[str]:
    path = pytester.path / f"{name}.calls"
    return path.read_text().split() if path.exists() else []


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--cuj-no-mlflow", "--cuj-output", "out", "-rA", *args)


def line_of(path: Path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


# ------------------------------------------------------------------------------ collection


def test_collects_suite_files_only_and_bad_suites_are_collection_errors(
    pytester: pytest.Pytester,
) -> None:
    make_suite(pytester, slos=[NO_ERRORS, FAST])
    pytester.makefile(".yaml", compose="version: 1\nservices:\n  web: {image: x}\n")
    pytester.makefile(".yml", half="journeys:\n  - name: x\n")  # no targets: not a suite
    pytester.makefile(".yaml", text="doc: |\n  targets:\n  journeys:\n")  # inside a scalar
    no_target = make_suite(pytester, name="bad1", slos=[{**NO_ERRORS, "target": None}])
    no_sli = make_suite(pytester, name="bad2", slos=[{**NO_ERRORS, "good": "faithful >= 1"}])
    no_data = make_suite(pytester, name="bad3")
    (pytester.path / "bad3.jsonl").unlink()
    result = pytester.runpytest("--collect-only", "-q")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    ids = [line for line in result.outlines if "::" in line]
    assert ids == ["s.yaml::run", "s.yaml::j::no-errors", "s.yaml::j::fast"]
    out = result.stdout.str()
    slo_line = line_of(no_target, "  - name: no-errors")
    assert f"bad1.yaml:{slo_line}: field 'journeys[0].slos[0]': a ratio SLO needs 'target'" in out
    assert f"bad2.yaml:{line_of(no_sli, '  - name: no-errors')}: field " in out
    assert "'journeys[0].slos[0].good': unknown SLI 'faithful'" in out
    dataset_line = line_of(no_data, "  dataset: bad3.jsonl")
    assert f"bad3.yaml:{dataset_line}: field 'journeys[0].dataset': dataset 'bad3.jsonl'" in out
    assert out.count("ERROR collecting") == 3
    assert "Traceback" not in out and "cujeval/" not in out  # no frames of ours


def test_suite_glob_narrows_collection_and_items_carry_an_xdist_group(
    pytester: pytest.Pytester,
) -> None:
    make_suite(pytester)
    items, _ = pytester.inline_genitems()
    assert {i.get_closest_marker("xdist_group").kwargs["name"] for i in items} == {"s.yaml"}
    pytester.makeini(INI + "cuj_suite_glob = *.cuj.yaml\n")
    assert pytester.runpytest("--collect-only", "-q").ret == pytest.ExitCode.NO_TESTS_COLLECTED


# -------------------------------------------------------------------------------- outcomes

HALF = {"name": "half-up", "good": "error == false", "target": 0.5}  # 10 of 20: undecided
MOSTLY = {"name": "up-a-fifth", "good": "error == false", "target": 0.2}
FIRST_TOKEN = {"name": "first-token", "good": "ttft_s <= 1", "target": 0.5}  # never streamed


def test_outcomes_follow_the_gate(pytester: pytest.Pytester) -> None:
    make_suite(
        pytester,
        mode="errors",
        slos=[NO_ERRORS, MOSTLY, HALF, FIRST_TOKEN, FAST],
        scorers=["error", "latency_s", "ttft_s"],
    )
    make_suite(pytester, name="down", mode="down")
    result = run(pytester, "--junitxml=junit.xml")
    result.assert_outcomes(passed=4, failed=5, warnings=1)
    out = result.stdout.str()
    # BREACHED fails with the verdict's sentence, not a traceback
    assert re.search(
        r"\n_+ s: j/no-errors _+\nj/no-errors BREACHED: 50\.0 % good \(10/20\) "
        r"\[\d+\.\d %, \d+\.\d %\] < target 90\.0 % \[error == false\]; "
        r"worst cases: c\d+ \(1\), c\d+ \(1\), c\d+ \(1\): svc:answer raised RuntimeError: "
        r"the service is down\nreport: out/s/report\.html\n",
        out,
    ), out
    assert "Traceback" not in out and "def runtest" not in out
    # NO_DATA fails; INCONCLUSIVE passes with a warning at the SLO's line; MET passes
    assert "j/first-token NO_DATA: no valid case, nothing measured (20 case(s) not scorable)" in out
    result.stdout.fnmatch_lines(
        ["*s.yaml:*: CujevalWarning: j/half-up INCONCLUSIVE: 50.0 % good (10/20)*"]
    )
    for passed in ("s.yaml::run", "s.yaml::j::up-a-fifth", "s.yaml::j::half-up", "s.yaml::j::fast"):
        assert f"PASSED {passed}" in out
    # an incomplete run fails its run item (exit 3), whatever the verdicts
    assert (
        "down: gate failed (exit 3): run incomplete: target 'svc' answered no call of journey "
        "'j' (20 of 20 failed); first: svc:answer raised RuntimeError: the service is down" in out
    )
    result.stdout.fnmatch_lines(["*- cujeval -*", "s: gate failed (exit 1): j/no-errors BREACHED*"])
    for name in ("results.json", "junit.xml", "summary.md", "report.html", "journal.jsonl"):
        assert (pytester.path / "out/s" / name).exists(), name
    # pytest's own --junitxml carries the SLO's figures
    root = ET.parse(pytester.path / "junit.xml").getroot()
    case = next(c for c in root.iter("testcase") if c.get("name") == "no-errors")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["verdict"] == "BREACHED" and props["action"] == "block"
    assert float(props["estimate"]) == 0.5 and props["n"] == "20" and props["target"] == "0.9"
    assert float(props["lower"]) < 0.5 < float(props["upper"])
    assert props["results"] == "out/s/results.json" and case.find("failure") is not None
    # INCONCLUSIVE means one thing in both JUnit files: passed, with the warning and figures
    ours = ET.parse(pytester.path / "out/s/junit.xml").getroot()
    for tree in (root, ours):
        half = next(c for c in tree.iter("testcase") if c.get("name") == "half-up")
        assert half.find("skipped") is None and half.find("failure") is None
        got = {p.get("name"): p.get("value") for p in half.iter("property")}
        assert (got["verdict"], got["action"], got["estimate"]) == ("INCONCLUSIVE", "warn", "0.5")
    assert "warning: j/half-up INCONCLUSIVE" in (half.findtext("system-out") or "")
    assert ours.find("testsuite").get("skipped") == "0"  # type: ignore[union-attr]

    strict = run(pytester, "s.yaml", "--cuj-strict")
    assert "j/half-up INCONCLUSIVE: 50.0 % good (10/20)" in strict.stdout.str()
    assert "; gate: inconclusive: blocks under --strict\n" in strict.stdout.str()
    strict.assert_outcomes(passed=3, failed=3)


def test_no_data_under_a_warn_policy_passes_with_a_warning(pytester: pytest.Pytester) -> None:
    make_suite(
        pytester, slos=[FIRST_TOKEN], scorers=["error", "ttft_s"], settings={"no_data": "warn"}
    )
    result = run(pytester)
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["*CujevalWarning: j/first-token NO_DATA*"])


def test_each_suite_runs_once_and_deselected_journeys_are_not_run(
    pytester: pytest.Pytester,
) -> None:
    make_suite(pytester, n=6, journeys=2, log=True, slos=[LOOSE, FAST])
    run(pytester).assert_outcomes(passed=5)
    assert sorted(calls(pytester)) == sorted([f"c{i}" for i in range(6)] * 2)  # 2 journeys
    (pytester.path / "s.calls").unlink()
    run(pytester, "-k", "j1").assert_outcomes(passed=2)  # j1's two SLOs
    assert len(calls(pytester)) == 6
    results = json.loads((pytester.path / "out/s/results.json").read_text())
    assert [j["name"] for j in results["journeys"]] == ["j1"]


def test_case_items(pytester: pytest.Pytester) -> None:
    make_suite(pytester, n=6, mode="errors", slos=[HALF, {**NO_ERRORS, "name": "strict-up"}])
    make_suite(pytester, name="held", n=6, mode="errors", slos=[{**HALF, "target": 0.1}])
    result = run(pytester, "--cuj-case-items")
    # s: half-up is inconclusive, strict-up breached: its bad cases fail
    # held: the SLO is met: its bad cases are xfail
    result.assert_outcomes(passed=5 + 5, failed=4, xfailed=3, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*__ s: j/case?c1? __*",
            "case c1 is bad on half-up, strict-up",
            "  error = True (half-up: error == false; strict-up: error == false)",
            "  input: question 1",
            "  error: svc:answer raised RuntimeError: the service is down",
            "gate blocks: strict-up",
        ]
    )
    out = result.stdout.str()
    assert "FAILED s.yaml::j::case[c1] - case c1 is bad on half-up, strict-up" in out
    assert "PASSED s.yaml::j::case[c0]" in out
    assert "XFAIL held.yaml::j::case[c3] - case c3 is bad on half-up" in out


# --------------------------------------------------------------------------------- options


def test_run_options_reach_the_run(pytester: pytest.Pytester) -> None:
    make_suite(pytester, n=4, log=True)
    run(
        pytester,
        *("--cuj-epochs", "2", "--cuj-gate", "point", "--cuj-trigger", "nightly"),
        *("--cuj-limit", "3", "--cuj-concurrency", "2", "--cuj-max-duration", "60"),
    )
    results = json.loads((pytester.path / "out/s/results.json").read_text())
    settings = results["settings"]
    assert (settings["epochs"], settings["gate"], settings["concurrency"]) == (2, "point", 2)
    assert settings["max_duration_s"] == 60 and results["trigger"] == "nightly"
    assert sorted(calls(pytester)) == ["c0", "c0", "c1", "c1", "c2", "c2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cuj-epochs", "0"], "--cuj-epochs: Input should be greater than or equal to 1"),
        (["--cuj-target", "nourl"], "--cuj-target: expected [SUITE:]NAME=URL, got 'nourl'"),
    ],
)
def test_bad_options_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_target_override(pytester: pytest.Pytester) -> None:
    for name in ("s", "t"):
        path = make_suite(pytester, name=name, n=3)
        suite = yaml.safe_load(path.read_text())
        suite["targets"]["web"] = {"kind": "http", "url": "http://127.0.0.1:9/old"}
        suite["journeys"][0]["target"] = "web"
        path.write_text(yaml.safe_dump(suite))
    bad = pytester.runpytest("--collect-only", "-q", "--cuj-target", "t:web=notaurl")
    bad.stdout.fnmatch_lines(["t.yaml: --cuj-target web: must be an absolute http*"])
    assert "s.yaml::run" in bad.stdout.str()  # SUITE:NAME applies to that suite only
    run(pytester, "s.yaml", "--cuj-target", "web=http://127.0.0.1:9/new")  # refused: no matter
    results = json.loads((pytester.path / "out/s/results.json").read_text())
    assert results["journeys"][0]["target"] == "http POST http://127.0.0.1:9/new"


def test_mlflow_logging_and_tracking_uri(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reporter is faked here (the real one is tested with MLflow in the end-to-end file):
    what matters is that it is called with the --cuj-tracking-uri (passed, not set in the
    environment), and not with --cuj-no-mlflow."""
    seen: list[tuple[str, str | None]] = []

    def log(result: Any, directory: Path, *, tracking_uri: str | None = None, **_: Any) -> str:
        seen.append((result.suite, tracking_uri))
        return "run-1"

    monkeypatch.setattr(cujeval.tracking.logger, "log", log)
    # and so is the tracking URI it reports (no MLflow client is made)
    monkeypatch.setattr(cujeval.tracking.history, "client", lambda uri=None: None)
    monkeypatch.setattr(cujeval.tracking.history, "shown_uri", lambda c: "fake")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    make_suite(pytester, n=3)
    pytester.runpytest("--cuj-output", "out", "--cuj-tracking-uri", "sqlite:///x.db")
    assert seen == [("s", "sqlite:///x.db")]
    pytester.runpytest("--cuj-output", "out", "--cuj-no-mlflow")
    assert len(seen) == 1


# -------------------------------------------------------------------- xdist and asyncio


def test_xdist_loadfile_runs_each_suite_once(pytester: pytest.Pytester) -> None:
    make_suite(pytester, name="a", n=5, log=True, slos=[LOOSE, FAST, {**FAST, "name": "f2"}])
    make_suite(pytester, name="b", n=5, log=True, mode="errors", slos=[NO_ERRORS, LOOSE])
    result = pytester.runpytest_subprocess(
        *("-n", "2", "--dist", "loadfile", "--cuj-no-mlflow", "--cuj-output", "out"),
        *("-p", "no:cacheprovider", "-W", "error"),
    )
    result.assert_outcomes(passed=6, failed=1, warnings=3)  # INCONCLUSIVE, even under -W error
    assert "--dist loadfile" not in result.stdout.str()  # no warning that a suite was split
    assert len(calls(pytester, "a")) == 5 and len(calls(pytester, "b")) == 5
    result.stdout.fnmatch_lines(
        ["*_ b: j/no-errors _*", "j/no-errors BREACHED: 60.0 % good (3/5)*"]
    )
    out = result.stdout.str()
    assert "a: gate passed (exit 0)" in out and "b: gate failed (exit 1)" in out  # from workers
    assert sorted(p.name for p in (pytester.path / "out").iterdir()) == ["a", "b"]


def test_xdist_load_splits_a_suite_and_says_so(pytester: pytest.Pytester) -> None:
    """Under --dist load a suite's items may land on both workers: each runs the suite into
    its own folder, and says how to run it once."""
    make_suite(pytester, n=3, slos=[LOOSE, FAST, {**FAST, "name": "f2"}, {**FAST, "name": "f3"}])
    result = pytester.runpytest_subprocess(
        *("-n", "2", "--cuj-no-mlflow", "--cuj-output", "out", "-p", "no:cacheprovider"),
    )
    assert result.parseoutcomes()["passed"] == 5
    assert "pass --dist loadfile to run each suite once" in result.stdout.str()
    folders = sorted(p.name for p in (pytester.path / "out").iterdir())
    assert folders and all(re.fullmatch(r"s-gw\d", f) for f in folders), folders


JOURNEYS = """
import asyncio

import pytest


def answer(case):
    return {"answer": case.reference or "", "contexts": [{"id": "d1", "text": "t"}]}


CASES = [{"id": f"q{i}", "input": f"q {i}", "reference": f"the answer {i}"} for i in range(12)]
UP = {"up": {"good": "error == false", "target": 0.5}}


@pytest.mark.cuj(target=answer, cases=CASES, scorers=["error", "token_f1"], slos=UP)
def test_marked(cuj_run):
    result = cuj_run()
    assert result.slo("up").met
    assert result.gate.passed
    assert result.journeys[0].name == "marked"


def test_unmarked_with_a_closure(cuj_run):
    prefix = "not it"
    result = cuj_run(
        target=lambda case: {"answer": prefix},
        cases=CASES,
        scorers=["error", "token_f1"],
        slos=[{"name": "similar", "good": "token_f1 >= 0.5", "target": 0.9}],
        suite="python-journeys",
    )
    assert result.slo("similar").met, "the answer is not the reference"


@pytest.mark.cuj(target=answer, cases=CASES, scorers=["error"], slos=UP)
@pytest.mark.asyncio
async def test_in_a_running_loop(cuj_run):
    assert asyncio.get_running_loop()
    assert cuj_run().slo("up").met  # on its own loop, in a thread
    assert (await cuj_run.arun()).slo("up").met  # on this loop


@pytest.mark.asyncio
async def test_other_async_test_after():
    await asyncio.sleep(0)
"""


def test_journeys_written_in_python_beside_a_suite_and_pytest_asyncio(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_journeys=JOURNEYS)
    make_suite(pytester, n=4)  # a suite file in the same session
    result = run(pytester, "--junitxml=junit.xml")
    result.assert_outcomes(passed=3 + 3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: the answer is not the reference*",
            "*- cujeval verdicts -*",
            "python-journeys: gate failed (exit 1); report: "
            "out/python-journeys/unmarked_with_a_closure/report.html",
            "  unmarked_with_a_closure/similar BREACHED: 0.0 % good (0/12)*",
        ]
    )
    marked = pytester.path / "out/test_journeys/marked"
    results = json.loads((marked / "results.json").read_text())
    assert results["journeys"][0]["target"] == "python test_journeys:answer"
    assert (marked / "report.html").exists() and (marked / "cases.jsonl").exists()
    assert (pytester.path / "out/test_journeys/in_a_running_loop-2/results.json").exists()
    root = ET.parse(pytester.path / "junit.xml").getroot()
    case = next(c for c in root.iter("testcase") if c.get("name") == "test_marked")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["marked/up.verdict"] == "MET" and props["marked/up.n"] == "12"


UP = "slos={'up': {'good': 'error == false', 'target': 0.5}}"
CASE = "cases=[{'id': 'a', 'input': 'q'}]"
BAD_MARKERS = [  # shapes are checked at set-up (an error), the rest when cuj_run builds the suite
    ("slo={}", "error", "unknown argument 'slo'; did you mean 'slos'?"),
    ("'answer'", "error", "takes keyword arguments only"),
    ("target=answer, cases=3", "error", "cases= must be golden cases: a list of mappings"),
    ("target=1", "error", "target= must be a callable of the case, the URL of"),
    (f"target=answer, scorers=['error'], {UP}", "fail", "give exactly one of cases="),
    (f"target=answer, cases=[{{'id': 'a'}}], scorers=['error'], {UP}", "fail", "cases[0].input:"),
    (f"target=answer, {CASE}, scorers=['error'], slos={{}}", "fail", "slos= is empty"),
    (
        f"target=answer, {CASE}, scorers=['error'], slos={{'x': {{'good': 'error == false'}}}}",
        "fail",
        "slos[0]: a ratio SLO needs 'target'",
    ),
    (f"target=answer, dataset='no.jsonl', scorers=['error'], {UP}", "fail", "dataset 'no.jsonl'"),
    (f"target=answer, {CASE}, scorers=['f1'], {UP}", "fail", "unknown scorer 'f1'"),
    (f"target='ftp://x', {CASE}, scorers=['error'], {UP}", "fail", "neither an http(s) URL"),
    (f"target='nomodule:fn', {CASE}, scorers=['error'], {UP}", "fail", "cannot import 'nomodule'"),
]


def test_marker_arguments_are_checked_with_a_readable_message(pytester: pytest.Pytester) -> None:
    tests = "".join(
        f"\n\n@pytest.mark.cuj({marker})\ndef test_{i}(cuj_run):\n    cuj_run()\n"
        for i, (marker, _, _) in enumerate(BAD_MARKERS)
    )
    pytester.makepyfile(f"import pytest\n\n\ndef answer(case):\n    return 'x'\n{tests}")
    result = run(pytester)
    out = result.stdout.str()
    for i, (_, outcome, message) in enumerate(BAD_MARKERS):
        line = next(x for x in result.outlines if re.match(rf"(ERROR|FAILED) \S+::test_{i}\b", x))
        assert line.startswith("ERROR" if outcome == "error" else "FAILED"), line
        section = out.split(f" test_{i} _")[1].split("\n_")[0]
        assert message in section, (message, section)
    assert "Traceback" not in out


SMALL = """
import pytest


def answer(case):
    return "no idea"


@pytest.mark.cuj(
    target=answer,
    cases=[{"id": "a", "input": "q", "reference": "the answer"}],
    scorers=["token_f1"],
    slos={"similar": {"good": "token_f1 >= 0.5", "target": 0.7}},
)
def test_one_case(cuj_run):
    result = cuj_run()
    assert result.gate.passed  # INCONCLUSIVE only warns ...


@pytest.mark.cuj(
    target=answer,
    cases=[{"id": "a", "input": "q", "reference": "the answer"}],
    scorers=["token_f1"],
    slos={"similar": {"good": "token_f1 >= 0.5", "every_case": True}},
)
def test_every_case(cuj_run):
    result = cuj_run()
    assert result.slo("similar").verdict == "BREACHED"
    assert not result.gate.passed


def test_settings_as_arguments(cuj_run):
    result = cuj_run(
        target=answer,
        cases=[{"id": "a", "input": "q", "reference": "the answer"}],
        scorers=["token_f1"],
        slos={"similar": {"good": "token_f1 >= 0.5", "target": 0.7}},
        gate="point",
        confidence=0.9,
    )
    assert result.slo("similar").verdict == "BREACHED"  # the point estimate decides
    assert result.settings["gate"] == "point" and result.settings["confidence"] == 0.9


def test_bad_setting_once(cuj_run):
    cuj_run(target=answer, cases=[{"id": "a", "input": "q"}], scorers=["error"],
            slos={"up": {"good": "error == false", "target": 0.5}}, gate="never")
"""


def test_small_samples_are_loud_where_journeys_are_written_in_python(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_small=SMALL)
    result = run(pytester, "-W", "error")
    result.assert_outcomes(passed=3, failed=1, warnings=2)
    out = result.stdout.str()
    # ... but never silently: the small sample and the verdict, as warnings
    assert "one_case/similar: small sample: 1 case(s) can show at most" in out
    assert "one_case/similar INCONCLUSIVE" in out
    # a bad setting is reported once, without a chained second copy
    # (the short summary repeats the message in full where CI is set: count it in the body)
    body = out.split("short test summary info")[0]
    assert body.count("Input should be 'interval' or 'point'") == 1, out
    assert "During handling of the above exception" not in out


# ------------------------------------------------------------------ plain runs stay plain

PLAIN_CONFTEST = """
import sys

HEAVY = ("pydantic", "numpy", "aiohttp", "mlflow", "torch", "yaml")


def pytest_unconfigure(config):
    ours = sorted(m for m in sys.modules if m.startswith("cujeval"))
    print("LOADED", sorted(m for m in HEAVY if m in sys.modules), ours)
"""


def test_a_plain_run_imports_nothing_heavy(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(PLAIN_CONFTEST)
    pytester.makepyfile("def test_one():\n    assert True\n")
    pytester.makefile(".yaml", config="name: x\nitems: [1]\n")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # ours alone, loaded by -p
    result = pytester.runpytest_subprocess("-p", "cujeval.pytest_plugin", "-q", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "LOADED [] ['cujeval', 'cujeval.pytest_plugin', 'cujeval.pytest_plugin._session', "
            "'cujeval.spec', 'cujeval.spec.flags']"
        ]
    )
    others = [line for line in result.outlines if not line.startswith("LOADED")]
    assert not [line for line in others if "cuj" in line.lower()]


def test_the_entry_point_adds_options_and_no_output(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    assert True\n")
    plain = pytester.runpytest("-rA")
    plain.assert_outcomes(passed=1)
    assert not [line for line in plain.outlines if "cuj" in line and "plugins:" not in line]
    helped = pytester.runpytest("--help")
    helped.stdout.fnmatch_lines(
        ["cujeval: Critical User Journey suites and SLO gates:", "*--cuj-strict*"]
    )


def test_executor_flags_reach_the_run(pytester: pytest.Pytester) -> None:
    from tests.servers import free_port

    make_suite(pytester, slos=[NO_ERRORS])
    port = free_port()  # no Ray head there: the run ends before any case, naming it
    result = run(pytester, "--cuj-executor", "ray", "--cuj-ray-address", f"127.0.0.1:{port}")
    assert result.ret != 0
    assert f"the Ray head at 127.0.0.1:{port} is unreachable" in result.stdout.str()


def test_an_objective_at_a_load_rate_is_skipped_with_the_command_that_judges_it(
    pytester: pytest.Pytester,
) -> None:
    at_rate = {"name": "fast-at-20", "objective": "p99(latency_s) <= 0.000001 at 20/s"}
    make_suite(pytester, slos=[LOOSE, at_rate])
    result = run(pytester)
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*judged under load only*cujeval load --rate 20*"])
