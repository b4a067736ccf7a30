"""The notebook's code cells run top to bottom against a real run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import write_suite

from cujeval.pipeline import evaluate_sync
from cujeval.spec.options import RunOptions
from cujeval.spec.suite import load_suite

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explore_results.ipynb"


def test_notebook_runs(
    tmp_path: Path, fault_server: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/status/500", n=12, settings={"retries": 0})
    evaluate_sync(
        load_suite(suite), RunOptions(output_dir=tmp_path / "run", progress=False, mlflow=False)
    )
    monkeypatch.setenv("CUJEVAL_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.chdir(NOTEBOOK.parent)
    namespace: dict[str, Any] = {}
    for cell in json.loads(NOTEBOOK.read_text())["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), str(NOTEBOOK), "exec"), namespace)
    assert namespace["result"].suite == "t"
    assert len(namespace["cases"]) == 12
    slos = namespace["slos"].set_index("name")
    assert slos.loc["no-errors", "verdict"] == "BREACHED" and slos.loc["no-errors", "n"] == 12
    assert set(namespace["cases"]["status"]) == {"http_500"}
