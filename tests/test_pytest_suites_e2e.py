"""``pytest suites/`` end to end against the bundled reference services: the bundled suites
pass on the clean services (``--cuj-reference-services`` starts the agent service), and with
the RAG service failing half its calls the RAG suite fails, naming the SLO and its figures.

The pytest runs are in-process, after a short warm-up run here: the embedding model and every
module the runs import are loaded once, before pytester snapshots sys.modules.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator

import pytest

import cujeval.pytest_plugin.suites  # noqa: F401 - kept across the in-process runs
from cujeval.engine.plan import validate
from cujeval.pipeline import evaluate_sync
from cujeval.spec.options import RunOptions
from cujeval.spec.suite import load_suite
from tests.conftest import ROOT

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def warm(rag_service: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The clean RAG service, after a three-case run of the RAG suite and a check of every
    bundled suite (what the runs import is imported, and the model loaded, here)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CUJEVAL_RAG_URL", rag_service)
    for path in sorted((ROOT / "suites").glob("*.yaml")):
        validate(load_suite(path))
    out = tmp_path_factory.mktemp("warm")
    evaluate_sync(
        load_suite(ROOT / "suites/support_rag.yaml"),
        RunOptions(output_dir=out, limit=3, progress=False, mlflow=False),
    )
    from cujeval.reporters import html, markdown

    del html, markdown
    yield rag_service
    mp.undo()


def faults(url: str, path: str, body: dict[str, float] | None = None) -> None:
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(f"{url}{path}", data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture
def env(warm: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CUJEVAL_RAG_URL", warm)
    monkeypatch.delenv("CUJEVAL_AGENT_URL", raising=False)  # the plugin starts the agent
    monkeypatch.delenv("CI", raising=False)
    return warm


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """Outcome by node id from ``suites/`` on (pytester's rootdir is its own folder)."""
    found = re.findall(r"^(PASSED|FAILED|ERROR) \S*?(suites/\S+)", result.stdout.str(), re.M)
    return {nodeid: outcome for outcome, nodeid in found}


def test_pytest_suites_passes_on_the_reference_services(
    pytester: pytest.Pytester, env: str
) -> None:
    result = pytester.runpytest(
        str(ROOT / "suites"),
        "--cuj-reference-services",
        "--cuj-no-mlflow",
        "-rA",
        *("--cuj-output", "out"),
    )
    items = outcomes(result)
    out = result.stdout.str()
    assert result.ret == 0, out[-6000:]
    assert set(items.values()) == {"PASSED"}
    for name in ("support_rag", "support_agent"):
        assert f"suites/{name}.yaml::run" in items
        assert (pytester.path / "out" / name / "report.html").exists()
        assert f"{name}: gate passed (exit 0)" in out
    assert "suites/support_rag.yaml::grounded-answer::answers-grounded" in items
    assert "suites/support_agent.yaml::order-task::task-success" in items


def test_a_faulted_service_fails_naming_the_slo_and_its_figures(
    pytester: pytest.Pytester, env: str
) -> None:
    faults(env, "/admin/faults", {"error_rate": 0.5, "seed": 7})
    try:
        result = pytester.runpytest(
            str(ROOT / "suites/support_rag.yaml"),
            "--cuj-limit",
            "40",
            "--cuj-no-mlflow",
            *("--cuj-output", "out", "-rA"),
        )
    finally:
        faults(env, "/admin/faults/reset")
    items = outcomes(result)
    out = result.stdout.str()
    assert items["suites/support_rag.yaml::grounded-answer::no-errors"] == "FAILED", out[-6000:]
    assert items["suites/support_rag.yaml::concise-cited-answer::no-errors"] == "FAILED"
    assert items["suites/support_rag.yaml::run"] == "PASSED"  # complete: only SLOs block
    assert re.search(
        r"\ngrounded-answer/no-errors BREACHED: \d+\.\d % good \(\d+/40\) "
        r"\[\d+\.\d %, \d+\.\d %\] < target 95\.0 % \[error == false\]; .*worst cases: q-",
        out,
    ), out[-6000:]
    assert "\nreport: out/support_rag/report.html\n" in out
    assert result.ret == pytest.ExitCode.TESTS_FAILED and "Traceback" not in out
    assert "support_rag: gate failed (exit 1): grounded-answer/no-errors BREACHED" in out
    summary = (pytester.path / "out/support_rag/summary.md").read_text()
    assert "❌ BREACHED" in summary


def test_the_shared_service_is_left_without_faults(warm: str) -> None:
    """The faulted run switched the session's service back (other tests use it)."""
    with urllib.request.urlopen(f"{warm}/admin/faults", timeout=10) as response:
        knobs = json.loads(response.read())
    assert knobs.get("error_rate", 0) == 0
