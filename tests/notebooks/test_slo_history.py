"""notebooks/slo_history.ipynb, executed by a Jupyter kernel (nbclient) against a real MLflow
server this test fills with three runs, one of them faulted."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.helpers import write_suite

from cujeval.pipeline import evaluate_sync
from cujeval.spec.options import RunOptions
from cujeval.spec.suite import load_suite
from cujeval.tracking.logger import log

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "slo_history.ipynb"


def test_notebook_plots_history(
    tmp_path: Path,
    fault_server: tuple[str, Any],
    mlflow_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    name = f"nb-{uuid.uuid4().hex[:8]}"
    ids = []
    for i, every in enumerate((100, 2, 100)):  # 1, 10 and 1 bad cases of 20
        folder = tmp_path / f"s{i}"
        folder.mkdir()
        path = write_suite(
            folder, url=f"{fault_server[0]}/some/500?every={every}", n=20, settings={"retries": 0}
        )
        doc = yaml.safe_load(path.read_text())
        doc["name"] = name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        out = folder / f"run{i}"
        result = evaluate_sync(
            load_suite(path), RunOptions(output_dir=out, progress=False, mlflow=False)
        )
        log(result, out, tracking_uri=mlflow_server, traces=False)
        ids.append(result.run_id)
    plots = tmp_path / "plots"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.setenv("CUJEVAL_SUITE", str(path))
    monkeypatch.setenv("CUJEVAL_PLOTS", str(plots))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    text = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        for o in cell.get("outputs", [])
    )
    assert f"{name}: 3 run(s) in MLflow" in text
    assert ids[1] in text  # the faulted run spent most of the no-errors budget
    images = [
        o for cell in nb.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 2
    assert (plots / "slis.png").stat().st_size > 1000
    assert (plots / "budgets.png").stat().st_size > 1000


def test_notebook_reads_the_repository_store_and_fails_loudly_without_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from a repository's notebooks/, with no MLFLOW_TRACKING_URI: it reads the
    repository's mlflow.db (the CLI's store), never makes one of its own, and an empty store
    is an error, not "0 run(s)" and empty plots."""
    import shutil

    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from nbclient.exceptions import CellExecutionError

    from cujeval.tracking.history import client

    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    shutil.copytree(NOTEBOOK.parents[1] / "suites", repo / "suites")
    shutil.copytree(NOTEBOOK.parents[1] / "datasets", repo / "datasets")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("CUJEVAL_SUITE", raising=False)

    def execute() -> str:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        with pytest.raises(CellExecutionError) as failed:
            nbclient.NotebookClient(
                nb,
                timeout=300,
                kernel_name="python3",
                resources={"metadata": {"path": str(repo / "notebooks")}},
            ).execute()
        return str(failed.value)

    text = execute()
    assert "FileNotFoundError" in text and f"no MLflow store at {repo / 'mlflow.db'}" in text
    assert not (repo / "notebooks" / "mlflow.db").exists() and not (repo / "mlflow.db").exists()
    client(f"sqlite:///{repo / 'mlflow.db'}").search_experiments()  # a store, with no run
    text = execute()
    assert "LookupError" in text and "no completed run of suite 'support_rag'" in text
    assert not (repo / "notebooks" / "mlflow.db").exists()
