"""`cujeval load` and `cujeval scenarios` through the real command line: reports written, exit
codes, bad input named without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import cujeval
from tests.test_load import SLOS, _suite


def test_load_writes_results_with_a_load_section_and_exits_on_the_gate(tmp_path: Path) -> None:
    path = _suite(tmp_path, {"kind": "python", "callable": "tests.test_load:fake_target"}, SLOS)
    out = tmp_path / "out"
    proc = cujeval(
        "load", str(path), "--rate", "20", "--duration", "1s", "--no-progress", "-o", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "results.json").read_text())
    assert result["load"]["steps"][0]["traffic"]["scheduled"] == 20
    assert (out / "load.md").read_text().startswith("# Load: loadtest / j")
    assert "## Golden signals per step" in proc.stdout

    strict = [*SLOS[:3], {"name": "latency", "objective": "p99(latency_s) <= 0.000001"}]
    path = _suite(tmp_path, {"kind": "python", "callable": "tests.test_load:fake_target"}, strict)
    proc = cujeval(
        "load",
        str(path),
        "--steps",
        "20,30",
        "--duration",
        "1s",
        "--gate",
        "point",
        "--no-progress",
        "-o",
        str(tmp_path / "out2"),
    )
    assert proc.returncode == 1, proc.stderr
    result = json.loads((tmp_path / "out2" / "results.json").read_text())
    assert [j["name"] for j in result["journeys"]] == ["j@20/s", "j@30/s"]
    assert result["load"]["knee"]["broke_at_rate"] == 20


def test_bad_load_input_exits_2_naming_what_is_wrong(tmp_path: Path) -> None:
    path = _suite(tmp_path, {"kind": "python", "callable": "tests.test_load:fake_target"}, SLOS)
    for args, words in [
        (["--duration", "3 weeks"], "--duration"),
        (["--steps", "10,x"], "--steps"),
        (["--journey", "nope"], "nope"),
        (["--success-slo", "latency"], "--success-slo"),
    ]:
        proc = cujeval("load", str(path), *args, "--no-progress", "-o", str(tmp_path / "o"))
        assert proc.returncode == 2, (args, proc.stderr)
        assert words in proc.stderr and "Traceback" not in proc.stderr


def test_scenarios_without_degradations_is_bad_input(tmp_path: Path) -> None:
    path = _suite(tmp_path, {"kind": "python", "callable": "tests.test_load:fake_target"}, SLOS)
    proc = cujeval("scenarios", str(path))
    assert proc.returncode == 2 and "degradations" in proc.stderr
    assert "Traceback" not in proc.stderr
