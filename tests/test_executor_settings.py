"""Where cases run comes from the suite (settings.executor, settings.ray_address) unless a flag
says otherwise; checked against a Ray head that is not there (exit 3 names the address), which
needs no cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import cujeval, write_suite
from tests.servers import free_port


def test_the_suite_names_the_executor_and_a_flag_overrides_it(
    tmp_path: Path, fault_server: Any
) -> None:
    url, _ = fault_server
    port = free_port()  # nothing listens there
    suite = write_suite(
        tmp_path,
        url=f"{url}/answer",
        n=4,
        settings={"executor": "ray", "ray_address": f"127.0.0.1:{port}"},
    )
    common = ("--no-mlflow", "--no-progress")
    done = cujeval("run", str(suite), "--output", str(tmp_path / "a"), *common, timeout=120)
    assert done.returncode == 3, done.stderr
    assert f"the Ray head at 127.0.0.1:{port} is unreachable" in done.stderr
    assert "Traceback" not in done.stderr

    other = free_port()
    done = cujeval(
        "run", str(suite), "--ray-address", f"127.0.0.1:{other}",
        "--output", str(tmp_path / "b"), *common, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3 and f"127.0.0.1:{other} is unreachable" in done.stderr

    done = cujeval(
        "run", str(suite), "--executor", "local", "--output", str(tmp_path / "c"), *common
    )
    assert done.returncode in (0, 1), done.stderr
    assert (tmp_path / "c" / "results.json").exists()


def test_a_bad_executor_in_the_suite_is_bad_input(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, url="http://127.0.0.1:9/answer", settings={"executor": "dask"})
    done = cujeval("run", str(suite), "--no-mlflow", "--output", str(tmp_path / "o"))
    assert done.returncode == 2
    assert "settings.executor" in done.stderr and "Traceback" not in done.stderr
