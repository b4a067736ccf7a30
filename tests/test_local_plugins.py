"""Local plugins: a suite lists Python files or modules relative to itself (``plugins:``) whose
registered scorers and target kinds it then names; a plugin that cannot be imported is bad
input (exit 2) naming the plugin's file and line, never a traceback. Through the command
line, pytest's suite items, and ``cuj_run(plugins=[...])``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

# what the in-process pytester runs import, imported once and kept across them
import cujeval.pytest_plugin.suites
import cujeval.reporters.html
import cujeval.reporters.junit
import cujeval.reporters.markdown
from tests.helpers import cujeval

pytest_plugins = ["pytester"]

CHECKS = '''"""Checks of our own: a scorer and a target kind."""
import cujeval
from cujeval import Score
from cujeval.spec.records import Observation


@cujeval.scorer("says_sorry", description="the answer apologises")
def says_sorry(*, word="sorry"):
    async def run(case, obs):
        ok = word in (obs.answer or "").lower()
        return {"says_sorry": Score(ok, "apologises" if ok else f"no {word!r} in the answer")}

    return run


class Canned:
    def __init__(self, name, settings):
        self.name = name
        self.description = f"canned ({settings['text']})"
        self.text = settings["text"]

    async def call(self, case):
        return Observation(answer=self.text, latency_s=0.0)

    async def aclose(self):
        return None


@cujeval.register_target("canned")
def canned(name, settings, *, concurrency):
    return Canned(name, settings)
'''

BROKEN = {
    "syntax.py": ("import cujeval\n\ndef f(:\n    pass\n", 3, "SyntaxError: invalid syntax"),
    "raises.py": (
        'import cujeval\n\n\n@cujeval.scorer("x", context=("nope",))\ndef x():\n    pass\n',
        4,
        "ValueError: scorer 'x': unknown context ['nope']",
    ),
    "imports.py": (
        "import cujeval\nimport no_such_helper\n",
        2,
        "No module named 'no_such_helper'",
    ),
}


def write_suite(directory: Path, text: str, plugins: list[str], name: str = "suite") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cases.jsonl").write_text('{"id": "a", "input": "q"}\n{"id": "b", "input": "r"}\n')
    suite = {
        "name": "local",
        "plugins": plugins,
        "targets": {"svc": {"kind": "canned", "text": text}},
        "journeys": [
            {
                "name": "j",
                "dataset": "cases.jsonl",
                "target": "svc",
                "scorers": [{"says_sorry": {"word": "sorry"}}],
                "slos": [{"name": "apologises", "good": "says_sorry == true", "every_case": True}],
            }
        ],
    }
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def test_a_suite_uses_the_scorer_and_target_kind_of_a_file_beside_it(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "checks.py").write_text(CHECKS)
    write_suite(tmp_path, "Sorry, here is how.", ["lib/checks.py"])
    r = cujeval("run", "suite.yaml", "--no-mlflow", "--no-progress", "-o", "ok", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    journey = json.loads((tmp_path / "ok" / "results.json").read_text())["journeys"][0]
    assert journey["target"] == "canned (Sorry, here is how.)"
    assert journey["slos"][0]["verdict"] == "MET" and journey["slos"][0]["n"] == 2

    write_suite(tmp_path, "No luck.", ["lib/checks.py"])
    r = cujeval("run", "suite.yaml", "--no-mlflow", "--no-progress", "-o", "bad", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "a (0), b (0): no 'sorry' in the answer" in " ".join(r.stdout.split())


def test_a_module_beside_the_suite_works_too(tmp_path: Path) -> None:
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "__init__.py").write_text("")
    (tmp_path / "team" / "checks_mod.py").write_text(CHECKS)
    write_suite(tmp_path, "sorry!", ["team.checks_mod"])
    r = cujeval("run", "suite.yaml", "--no-mlflow", "--no-progress", "-o", "ok", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_plugin_that_fails_to_load_names_its_file_and_line(tmp_path: Path, name: str) -> None:
    text, line, message = BROKEN[name]
    (tmp_path / "checks.py").write_text(CHECKS)
    (tmp_path / name).write_text(text)
    write_suite(tmp_path, "sorry", ["checks.py", name])
    r = cujeval("run", "suite.yaml", "--no-mlflow", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{tmp_path / name}:{line}: plugin '{name}' failed to load" in r.stderr
    assert message in r.stderr and "(listed at suite.yaml:" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_missing_plugin_names_the_suite_line(tmp_path: Path) -> None:
    write_suite(tmp_path, "sorry", ["nothere.py", "no_such.module"])
    r = cujeval("run", "suite.yaml", "--no-mlflow", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "suite.yaml:3: field 'plugins': plugin 'nothere.py': no such file" in r.stderr
    write_suite(tmp_path, "sorry", ["no_such.module"])
    r = cujeval("run", "suite.yaml", "--no-mlflow", cwd=tmp_path)
    assert r.returncode == 2
    assert "plugin 'no_such.module': no module 'no_such' beside the suite" in r.stderr


INI = """[pytest]
asyncio_default_fixture_loop_scope = function
addopts = -p no:hypothesispytest -p no:langsmith_plugin
"""

JOURNEY = """
import pytest


@pytest.mark.cuj(
    plugins=["local_checks.py"],
    target={"kind": "canned", "text": "no luck"},
    cases=[{"id": "q1", "input": "money back?"}],
    scorers=["says_sorry"],
    slos={"apologises": {"good": "says_sorry == true", "every_case": True}},
)
def test_apologises(cuj_run):
    assert cuj_run().slo("apologises").met


def test_bad_plugin(cuj_run):
    cuj_run(plugins=["syntax.py"], target={"kind": "canned", "text": "x"},
            cases=[{"id": "q1", "input": "q"}], scorers=["says_sorry"],
            slos={"apologises": {"good": "says_sorry == true", "every_case": True}})
"""


def test_pytest_suites_and_cuj_run_take_local_plugins(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    (pytester.path / "local_checks.py").write_text(CHECKS)
    (pytester.path / "syntax.py").write_text(BROKEN["syntax.py"][0])
    write_suite(pytester.path / "good", "Sorry!", ["../local_checks.py"])
    write_suite(pytester.path / "broken", "x", ["../syntax.py"])
    pytester.makepyfile(test_journey=JOURNEY)
    result = pytester.runpytest(
        *("--cuj-no-mlflow", "--cuj-output", "out", "-p", "no:cacheprovider", "-rA"),
        "--continue-on-collection-errors",
    )
    out = result.stdout.str()
    result.assert_outcomes(passed=2, failed=2, errors=1)
    assert "PASSED good/suite.yaml::j::apologises" in out
    assert "ERROR broken/suite.yaml" in out
    assert "syntax.py:3: plugin '../syntax.py' failed to load: SyntaxError" in out
    assert "apologises BREACHED" in out and "q1 (0): no 'sorry' in the answer" in out
    assert "syntax.py:3: plugin 'syntax.py' failed to load: SyntaxError" in out
    assert "Traceback" not in out
