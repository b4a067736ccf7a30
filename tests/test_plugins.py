"""Third-party target kinds and scorers through entry points, as an installed plugin package
would ship them: a real distribution (dist-info with entry_points.txt) on the path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from tests.helpers import cujeval, write_dataset

PLUGIN = """
from cujeval.spec.records import Observation
from cujeval.scorers.base import Score


class EchoTarget:
    def __init__(self, name, settings, *, concurrency):
        self.name = name
        self.description = f"echo ({settings['prefix']})"
        self.prefix = settings["prefix"]

    async def call(self, case):
        return Observation(answer=f"{self.prefix} {case.question}", latency_s=0.001)

    async def aclose(self):
        return None


def make_echo(name, settings, *, concurrency):
    return EchoTarget(name, settings, concurrency=concurrency)


def shouts():
    async def run(case, obs):
        return {"shouts": Score(value=(obs.answer or "").isupper())}
    return run
"""


def install_plugin(root: Path) -> dict[str, str]:
    root.mkdir()
    (root / "echo_plugin.py").write_text(PLUGIN)
    info = root / "echo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[cujeval.targets]\necho = echo_plugin:make_echo\n\n"
        "[cujeval.scorers]\nshouts = echo_plugin:shouts\n"
    )
    return {**os.environ, "PYTHONPATH": str(root)}


def test_a_plugin_target_kind_and_scorer_run_from_a_suite(tmp_path: Path) -> None:
    env = install_plugin(tmp_path / "site")
    write_dataset(tmp_path / "cases.jsonl", 12)
    suite = {
        "name": "plugins",
        "targets": {"loud": {"kind": "echo", "prefix": "HELLO"}},
        "journeys": [
            {
                "name": "j",
                "dataset": "cases.jsonl",
                "target": "loud",
                "scorers": ["error", "shouts"],
                "slos": [{"name": "shouting", "good": "shouts == false", "target": 0.5}],
            }
        ],
    }
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(suite))
    r = cujeval(
        "run", "suite.yaml", "--no-mlflow", "--no-progress", "-o", "out", cwd=tmp_path, env=env
    )
    assert r.returncode == 0, r.stderr  # "HELLO question 1" is not all upper case: no shouting
    result = json.loads((tmp_path / "out" / "results.json").read_text())
    journey = result["journeys"][0]
    assert journey["target"] == "echo (HELLO)" and journey["n_errors"] == 0
    (slo,) = journey["slos"]
    assert (slo["n"], slo["good"], slo["verdict"]) == (12, 12, "MET")


def test_an_unknown_target_kind_names_the_line(tmp_path: Path) -> None:
    write_dataset(tmp_path / "cases.jsonl", 2)
    (tmp_path / "suite.yaml").write_text(
        "name: t\ntargets:\n  x:\n    kind: grpc\n    url: u\njourneys:\n"
        "  - {name: j, dataset: cases.jsonl, target: x, scorers: [error]}\n"
    )
    r = cujeval("run", "suite.yaml", "--no-mlflow", cwd=tmp_path)
    assert r.returncode == 2 and "suite.yaml:4" in r.stderr and "unknown target kind" in r.stderr
