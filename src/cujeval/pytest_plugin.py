"""pytest plugin (entry point ``cujeval`` in ``pytest11``): suite files as tests, and journeys
written in Python.

``pytest suites/`` collects each suite file: YAML matching the ``cuj_suite_glob`` patterns
whose top level has ``targets:`` and ``journeys:`` (other YAML is never read as a suite).
Items: ``<file>::run`` (the run completed, nothing outside the SLOs blocks the gate), one per
SLO (``<file>::<journey>::<slo>``) and, with ``--cuj-case-items``, one per golden case. A suite
runs once per session, on its first item; its items read the one gate decision: block fails
with the verdict's sentence, warn passes with a :class:`CujevalWarning`, pass passes.

``@pytest.mark.cuj(target=..., cases=... or dataset=..., scorers=[...], slos=[...])`` and the
``cuj_run`` fixture run a journey defined in a test file. Both paths write the same reports
and MLflow runs as ``cujeval run``.

This module imports only pytest and the standard library at its top: a session that collects
no suite and uses no ``cuj`` marker loads nothing else of cujeval.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import sys
import threading
import types
import warnings
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from cujeval.flags import HELP, cuj_flag

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr

    from cujeval.journal import JournalRow
    from cujeval.results import RunResult, SLOEntry
    from cujeval.suite import Journey, SLOSpec, Suite

T = TypeVar("T")
_RUN_OPTIONS: tuple[str, ...] = ("concurrency", "epochs", "strict", "gate", "judge_epochs")
_RUN_OPTIONS += ("limit", "max_duration_s", "trigger")
_URL_VARIABLES = ("CUJEVAL_RAG_URL", "CUJEVAL_AGENT_URL")
_SNIFF_BYTES = 256 * 1024
_TOP_KEY = r"^{}[ \t]*:"
_TRIVIAL_REASONS = {"met", "breached", "inconclusive", "no valid case: nothing measured"}


class CujevalWarning(pytest.PytestWarning):
    """An SLO the gate only warns on (INCONCLUSIVE, informational, ``no_data: warn``)."""


class CujevalFailure(Exception):
    """A verdict or bad input, shown as its message alone (no traceback)."""


# ---------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class _Options:
    run: dict[str, Any]  # RunOptions fields given on the command line
    output: Path | None
    mlflow: bool
    tracking_uri: str | None
    targets: tuple[tuple[str | None, str, str], ...]  # (suite or None, target, url)
    case_items: bool
    reference_services: bool


@dataclass
class _SuiteRun:
    suite: Suite | None = None  # as run: the journeys that had items selected
    result: RunResult | None = None
    output: Path | None = None
    error: str | None = None  # bad input met when the run started, or a crash
    cases: dict[str, dict[str, _CaseVerdict]] = field(default_factory=dict)  # by journey


@dataclass
class _State:
    options: _Options
    runs: dict[Path, _SuiteRun] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    services: list[Any] = field(default_factory=list)
    env: dict[str, str | None] = field(default_factory=dict)  # variables set, previous values
    split_warned: bool = False


_STATE = pytest.StashKey[_State]()
_RESULTS = pytest.StashKey[list[tuple["RunResult", Path]]]()
_CALLABLES = types.SimpleNamespace()  # Python callables targeted by `cuj` journeys


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cujeval", "cujeval: Critical User Journey suites and SLO gates")
    group.addoption(
        cuj_flag("output_dir"), dest="cuj_output", metavar="DIR", help=HELP["pytest_output"]
    )
    group.addoption(
        "--cuj-target",
        dest="cuj_target",
        action="append",
        default=[],
        metavar="[SUITE:]NAME=URL",
        help=HELP["target_url"],
    )
    group.addoption(
        "--cuj-no-mlflow", dest="cuj_no_mlflow", action="store_true", help=HELP["no_mlflow"]
    )
    group.addoption(
        "--cuj-tracking-uri", dest="cuj_tracking_uri", metavar="URI", help=HELP["tracking_uri"]
    )
    group.addoption(cuj_flag("strict"), dest="cuj_strict", action="store_true", help=HELP["strict"])
    group.addoption(
        cuj_flag("gate"), dest="cuj_gate", choices=("interval", "point"), help=HELP["gate"]
    )
    for name, kind, metavar in (
        ("epochs", int, "K"),
        ("concurrency", int, "N"),
        ("limit", int, "N"),
        ("judge_epochs", int, "K"),
        ("max_duration_s", float, "S"),
    ):
        group.addoption(
            cuj_flag(name), dest=f"cuj_{name}", type=kind, metavar=metavar, help=HELP[name]
        )
    group.addoption(
        cuj_flag("trigger"),
        dest="cuj_trigger",
        choices=("ci", "nightly", "manual"),
        help=HELP["trigger"],
    )
    group.addoption(
        "--cuj-case-items", dest="cuj_case_items", action="store_true", help=HELP["case_items"]
    )
    group.addoption(
        "--cuj-reference-services",
        dest="cuj_reference_services",
        action="store_true",
        help=HELP["reference_services"],
    )
    parser.addini("cuj_suite_glob", HELP["suite_glob"], type="args", default=["*.yaml", "*.yml"])


def _parse_options(config: pytest.Config) -> _Options:
    run: dict[str, Any] = {}
    for name in _RUN_OPTIONS:
        value = config.getoption(f"cuj_{name}")
        if value is not None and value is not False:
            run[name] = value
    if run:
        _check_run_options(run)
    targets = []
    for text in config.getoption("cuj_target"):
        where, sep, url = text.partition("=")
        suite, colon, name = where.rpartition(":")
        if not sep or not name.strip() or not url.strip():
            raise pytest.UsageError(f"--cuj-target: expected [SUITE:]NAME=URL, got {text!r}")
        targets.append((suite.strip() if colon else None, name.strip(), url.strip()))
    output = config.getoption("cuj_output")
    return _Options(
        run=run,
        output=Path(output) if output else None,
        mlflow=not config.getoption("cuj_no_mlflow"),
        tracking_uri=config.getoption("cuj_tracking_uri"),
        targets=tuple(targets),
        case_items=bool(config.getoption("cuj_case_items")),
        reference_services=bool(config.getoption("cuj_reference_services")),
    )


def _check_run_options(run: dict[str, Any]) -> None:
    """Bad values are a usage error naming the ``--cuj-*`` flag (imports pydantic: only
    when a run option was given)."""
    from cujeval.errors import InputError
    from cujeval.options import RunOptions

    try:
        RunOptions.build(output_dir=Path("."), **run)
    except InputError as exc:
        flag = (exc.field or "").removeprefix("--")
        name = next((n for n in _RUN_OPTIONS if cuj_flag(n) == f"--cuj-{flag}"), None)
        raise pytest.UsageError(f"{cuj_flag(name) if name else flag}: {exc.message}") from None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cuj(target=, cases= | dataset=, scorers=, slos=, ...): a journey written in Python, "
        "run by the cuj_run fixture (cujeval)",
    )
    state = _State(options=_parse_options(config))
    config.stash[_STATE] = state
    if state.options.reference_services and not hasattr(config, "workerinput"):
        _start_reference_services(state)  # xdist workers inherit the variables


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    for service in reversed(state.services):
        service.stop()
    state.services.clear()
    for name, previous in state.env.items():
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _start_reference_services(state: _State) -> None:
    """The bundled services whose URL variable is unset, started side by side."""
    from concurrent.futures import ThreadPoolExecutor

    from cujeval.errors import CujevalError
    from cujeval.reference.agent.launch import start_agent_service
    from cujeval.reference.launch import start_rag_service

    starters = dict(zip(_URL_VARIABLES, (start_rag_service, start_agent_service), strict=True))
    wanted = [name for name in _URL_VARIABLES if not os.environ.get(name)]
    if not wanted:
        return
    with ThreadPoolExecutor(len(wanted)) as pool:
        futures = {name: pool.submit(starters[name]) for name in wanted}
        problems = []
        for name, future in futures.items():
            try:
                service = future.result()
            except (CujevalError, OSError) as exc:
                problems.append(f"{name}: {exc}")
                continue
            state.services.append(service)
            state.env[name] = os.environ.get(name)
            os.environ[name] = service.url
    if problems:
        for service in state.services:
            service.stop()
        state.services.clear()
        raise pytest.UsageError(
            "--cuj-reference-services: a service did not start (pip install "
            "'cujeval[reference]'?): " + "; ".join(problems)
        )


# ------------------------------------------------------------------------------- collection


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = parent.config.getini("cuj_suite_glob")
    if not any(file_path.match(p) for p in patterns) or not _looks_like_suite(file_path):
        return None
    return SuiteFile.from_parent(parent, path=file_path)


def _looks_like_suite(path: Path) -> bool:
    """Top-level ``targets:`` and ``journeys:`` keys, read from the text (no YAML parser)."""
    try:
        with path.open("rb") as f:
            text = f.read(_SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    return all(re.search(_TOP_KEY.format(k), text, re.MULTILINE) for k in ("targets", "journeys"))


def _shown(path: str | Path | None) -> str | None:
    """A path as the user would type it: relative to the working directory when inside it."""
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _message(exc: Exception) -> str:
    """An InputError's message with its file relative to the working directory."""
    from cujeval.errors import InputError

    if isinstance(exc, InputError):
        return str(InputError(exc.message, file=_shown(exc.file), line=exc.line, field=exc.field))
    return f"{type(exc).__name__}: {exc}"


class SuiteFile(pytest.File):
    """A suite YAML file: its ``run`` item, then one collector per journey."""

    suite: Suite

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        from cujeval.errors import InputError
        from cujeval.runner import validate
        from cujeval.suite import load_suite

        state = self.config.stash[_STATE]
        try:
            suite = _override_targets(load_suite(self.path), state.options.targets)
            validate(suite)
        except InputError as exc:
            raise self.CollectError(_message(exc)) from None
        self.suite = suite
        names = {j.name for j in suite.journeys}
        yield RunItem.from_parent(self, name="run" if "run" not in names else "run-suite")
        for index, journey in enumerate(suite.journeys):
            yield JourneyNode.from_parent(self, name=journey.name, index=index)


def _override_targets(suite: Suite, overrides: Iterable[tuple[str | None, str, str]]) -> Suite:
    """``--cuj-target`` applied: the url (http) or base_url (openai) of the named target."""
    from pydantic import ValidationError

    from cujeval.errors import InputError
    from cujeval.targets.config import HttpTargetSpec, OpenAITargetSpec

    targets = dict(suite.targets)
    for only, name, url in overrides:
        if (only is not None and only != suite.name) or name not in targets:
            continue
        spec = targets[name]
        key = "url" if isinstance(spec, HttpTargetSpec) else "base_url"
        if not isinstance(spec, HttpTargetSpec | OpenAITargetSpec):
            raise InputError(f"--cuj-target {name}: a python target has no URL", file=suite.path)
        try:
            targets[name] = type(spec).model_validate({**spec.model_dump(), key: url})
        except ValidationError as exc:
            why = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise InputError(f"--cuj-target {name}: {why}", file=suite.path) from None
    return suite.model_copy(update={"targets": targets})


class JourneyNode(pytest.Collector):
    """One journey of a suite: an item per SLO, and per case with ``--cuj-case-items``."""

    def __init__(self, *, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index

    @property
    def suite_file(self) -> SuiteFile:
        assert isinstance(self.parent, SuiteFile)
        return self.parent

    @property
    def journey(self) -> Journey:
        return self.suite_file.suite.journeys[self.index]

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        journey = self.journey
        for slo in journey.slos:
            yield SLOItem.from_parent(self, name=slo.name, spec=slo)
        state = self.config.stash[_STATE]
        if state.options.case_items:
            from cujeval.dataset import iter_cases

            suite = self.suite_file.suite
            limit = state.options.run.get("limit")
            seen: set[str] = set()
            for i, case in enumerate(iter_cases(suite.dataset_path(journey))):
                if limit is not None and i >= limit:
                    break
                if case.id not in seen:
                    seen.add(case.id)
                    yield CaseItem.from_parent(self, name=f"case[{case.id}]", case_id=case.id)


class _SuiteItem(pytest.Item):
    """An item whose outcome is read from its suite's one run."""

    journey_name: str | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.config.pluginmanager.hasplugin("xdist"):  # --dist loadgroup: one worker a suite
            self.add_marker(pytest.mark.xdist_group(name=self.suite_file.nodeid))

    @property
    def suite_file(self) -> SuiteFile:
        node = self.parent
        while node is not None and not isinstance(node, SuiteFile):
            node = node.parent
        assert node is not None
        return node

    def setup(self) -> None:
        run = _run_suite(self.suite_file, self)
        if run.error is not None:
            raise CujevalFailure(run.error)

    def result(self) -> tuple[RunResult, Path]:
        run = self.config.stash[_STATE].runs[self.suite_file.path]
        assert run.result is not None and run.output is not None
        return run.result, run.output

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, CujevalFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


class RunItem(_SuiteItem):
    """The suite's run: complete, and nothing outside the SLOs (scorer errors beyond the
    policy, an exhausted budget) blocks the gate."""

    def runtest(self) -> None:
        result, out = self.result()
        gate = result.gate
        self.user_properties += [
            ("gate", "passed" if gate.passed else "failed"),
            ("exit_code", gate.exit_code),
            ("results", _shown(out / "results.json")),
            ("report", _shown(out / "report.html")),
        ]
        labels = {f"{s.journey}/{s.slo} {s.verdict}" for s in gate.slos}
        other = [b for b in gate.blocking if b not in labels]
        if other:
            raise CujevalFailure(
                f"{result.suite}: gate failed (exit {gate.exit_code}): "
                + "; ".join(other)
                + f"\nreport: {_shown(out / 'report.html')}"
            )

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, None, f"{self.suite_file.suite.name}: run"


class SLOItem(_SuiteItem):
    """One SLO: failed when the gate blocks on it, passed with a warning when it warns."""

    def __init__(self, *, spec: SLOSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        assert isinstance(self.parent, JourneyNode)
        self.journey_name = self.parent.journey.name

    def runtest(self) -> None:
        result, out = self.result()
        journey = str(self.journey_name)
        entry = result.slo(self.spec.name, journey=journey)
        gate = next(s for s in result.gate.slos if s.journey == journey and s.slo == entry.name)
        self.user_properties += _properties(entry, gate.action, gate.reason)
        self.user_properties.append(("results", _shown(out / "results.json")))
        text = _verdict_text(journey, entry, gate.reason)
        if gate.action == "block":
            raise CujevalFailure(f"{text}\nreport: {_shown(out / 'report.html')}")
        if gate.action == "warn":
            _warn(self, text)
        elif result.status == "aborted":
            _warn(self, f"{text} (measured on an incomplete run)")

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        line = self.spec.line - 1 if self.spec.line else None
        return (
            self.path,
            line,
            f"{self.suite_file.suite.name}: {self.journey_name}/{self.spec.name}",
        )


def _warn(node: pytest.Item, text: str) -> None:
    """A CujevalWarning at the node's location, recorded even under ``-W error``: the gate
    decided this SLO does not fail the run (``--cuj-strict`` makes INCONCLUSIVE block)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", CujevalWarning)
        node.warn(CujevalWarning(text))


def _verdict_text(journey: str, entry: SLOEntry, reason: str) -> str:
    from cujeval.reporters.format import sentence

    text = sentence(journey, entry)
    if reason not in _TRIVIAL_REASONS:
        text += f"; gate: {reason}"
    return text


def _properties(entry: SLOEntry, action: str, reason: str) -> list[tuple[str, object]]:
    """An SLO's figures as JUnit properties (pytest's --junitxml writes them)."""
    from cujeval.reporters.format import objective

    props: list[tuple[str, object]] = [
        ("verdict", entry.verdict),
        ("action", action),
        ("reason", reason),
        ("objective", objective(entry)),
    ]
    for name in ("estimate", "lower", "upper", "n", "good", "target", "bound"):
        value = getattr(entry, name)
        if value is not None:
            props.append((name, value))
    return props


# ------------------------------------------------------------------------------ case items


@dataclass(frozen=True)
class _CaseVerdict:
    bad: tuple[str, ...]  # SLOs this case is bad on (in some repeat)
    rows: tuple[JournalRow, ...]


class CaseItem(_SuiteItem):
    """One golden case: passed when good on every per-case SLO; a bad case fails when the
    gate blocks one of its SLOs and is xfail while they hold (an SLO allows some bad cases)."""

    def __init__(self, *, case_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case_id = case_id
        assert isinstance(self.parent, JourneyNode)
        self.journey_name = self.parent.journey.name

    def runtest(self) -> None:
        result, _ = self.result()
        journey = str(self.journey_name)
        verdicts = _case_verdicts(self.config.stash[_STATE].runs[self.suite_file.path], journey)
        verdict = verdicts.get(self.case_id)
        if verdict is None:
            pytest.skip(f"case {self.case_id!r} was not run ({result.abort_reason or 'limit'})")
        if not verdict.bad:
            return
        blocked = [s for s in verdict.bad if result.gate.action(journey, s) == "block"]
        text = _case_text(self.case_id, verdict, self.parent_journey)
        if blocked:
            raise CujevalFailure(f"{text}\ngate blocks: {', '.join(blocked)}")
        pytest.xfail(f"{text}\nwithin its SLOs: {', '.join(verdict.bad)} still hold")

    @property
    def parent_journey(self) -> Journey:
        assert isinstance(self.parent, JourneyNode)
        return self.parent.journey

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, None, f"{self.suite_file.suite.name}: {self.journey_name}/{self.name}"


def _case_verdicts(run: _SuiteRun, journey: str) -> dict[str, _CaseVerdict]:
    """Per case of ``journey``: the ratio and journey SLOs it is bad on (as slo.py counts a
    row: unscorable is bad only where the SLO says so, or for journey success on an error)."""
    if journey in run.cases:
        return run.cases[journey]
    from cujeval.journal import read_rows

    assert run.result is not None and run.output is not None
    assert run.suite is not None
    spec = next(j for j in run.suite.journeys if j.name == journey)
    ratio = {s.name: s for s in spec.slos if s.kind == "ratio"}
    rows: dict[str, list[JournalRow]] = {}
    for row in read_rows(run.output / run.result.journal):
        if row.journey == journey:
            rows.setdefault(row.case_id, []).append(row)
    out = {}
    for case_id, case_rows in rows.items():
        bad = [
            slo.name
            for slo in spec.slos
            if slo.kind != "aggregate" and any(_row_bad(slo, ratio, r) for r in case_rows)
        ]
        out[case_id] = _CaseVerdict(tuple(bad), tuple(case_rows))
    run.cases[journey] = out
    return out


def _row_bad(slo: SLOSpec, ratio: Mapping[str, SLOSpec], row: JournalRow) -> bool:
    steps = [ratio[s] for s in slo.all_of or () if s in ratio] if slo.kind == "journey" else [slo]
    valid, good = False, True
    for step in steps:
        value = (row.scores.get(step.predicate.sli) or {}).get("value")
        counts_bad = value is None and (
            (not row.ok and slo.kind == "journey") or step.unscorable == "bad"
        )
        valid = valid or value is not None or counts_bad
        good = good and (step.predicate(value) if value is not None else not counts_bad)
    return valid and not good


def _case_text(case_id: str, verdict: _CaseVerdict, journey: Journey) -> str:
    row = next((r for r in verdict.rows if not r.ok), verdict.rows[0])
    lines = [f"case {case_id} is bad on {', '.join(verdict.bad)}"]
    needs: dict[str, list[str]] = {}
    for slo in journey.slos:
        if slo.name in verdict.bad and slo.kind == "ratio":
            needs.setdefault(slo.predicate.sli, []).append(f"{slo.name}: {slo.good}")
    for sli, wants in needs.items():
        score = row.scores.get(sli) or {}
        lines.append(f"  {sli} = {score.get('value')} ({'; '.join(wants)})")
        if score.get("explanation") and row.ok:
            lines.append(f"    {_clip(str(score['explanation']))}")
    lines.append(f"  input: {_clip(row.input)}")
    if not row.ok:
        lines.append(f"  error: {_clip(str(row.observation.get('error') or row.status))}")
    else:
        lines.append(f"  answer: {_clip(str(row.observation.get('answer') or ''))}")
    return "\n".join(lines)


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------------------ the runs


def _run_suite(node: SuiteFile, item: pytest.Item | None = None) -> _SuiteRun:
    """The suite's one run this session: started by its first item, then reused."""
    state = node.config.stash[_STATE]
    run = state.runs.get(node.path)
    if run is not None:
        return run
    run = state.runs[node.path] = _SuiteRun()
    from cujeval.errors import InputError

    suite = node.suite
    chosen = {
        item.journey_name
        for item in node.session.items
        if isinstance(item, _SuiteItem) and item.journey_name and item.path == node.path
    }
    if chosen:  # -k / -m deselected whole journeys: do not call their targets
        suite = suite.model_copy(
            update={"journeys": tuple(j for j in suite.journeys if j.name in chosen)}
        )
    run.suite = suite
    out = _suite_output(node, suite.name, item)
    try:
        run.result = _run_and_report(node.config, suite, out)
        run.output = out
    except InputError as exc:
        run.error = _message(exc)
    except Exception as exc:
        run.error = f"the run of {suite.name} failed: {type(exc).__name__}: {exc}"
        raise
    return run


def _suite_output(node: SuiteFile, suite: str, item: pytest.Item | None = None) -> Path:
    from cujeval.paths import new_run_dir

    config = node.config
    state = config.stash[_STATE]
    suffix = ""
    worker = getattr(config, "workerinput", None)
    if worker is not None and not _one_worker_a_suite(node, worker.get("cujeval_dist")):
        suffix = f"-{worker['workerid']}"  # each worker that gets items runs the suite
        if not state.split_warned and isinstance(item, pytest.Item):
            state.split_warned = True
            _warn(
                item,
                "a suite's items may run on several xdist workers, each running the suite: "
                "pass --dist loadfile to run each suite once",
            )
    if state.options.output is not None:
        return state.options.output / f"{suite}{suffix}"
    return Path(f"{new_run_dir(_reports(config), suite)}{suffix}")


def _one_worker_a_suite(node: SuiteFile, dist: str | None) -> bool:
    """Does xdist's ``--dist`` mode send all of a suite's items to one worker? loadfile
    does; loadgroup does when xdist could apply the items' ``xdist_group`` (their node ids
    then end in ``@group``; not so with pytest 9.2 and xdist 3.8)."""
    if dist == "loadfile":
        return True
    items = [i for i in node.session.items if isinstance(i, _SuiteItem) and i.path == node.path]
    return dist == "loadgroup" and all("@" in i.nodeid for i in items)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: tell each worker the --dist mode (workers see "no")."""
    node.workerinput["cujeval_dist"] = node.config.getoption("dist", None)


def _reports(config: pytest.Config) -> Path:
    return config.invocation_params.dir / "reports"


def _run_and_report(config: pytest.Config, suite: Suite, out: Path) -> RunResult:
    """Run ``suite`` into ``out`` on a fresh event loop in a worker thread, write every
    report (MLflow as the options say) and note the run for the terminal summary."""
    from cujeval.runner import run

    options = _run_options(config, out)
    result = _in_thread(lambda: run(suite, options))
    _report(config, result, out)
    return result


def _run_options(config: pytest.Config, out: Path) -> Any:
    from cujeval.options import RunOptions

    opts = dict(config.stash[_STATE].options.run)
    if "trigger" not in opts:
        ci = os.environ.get("CI", "").lower() in ("1", "true")
        opts["trigger"] = "ci" if ci else "manual"
    return RunOptions.build(output_dir=out, progress=False, **opts)


def _report(config: pytest.Config, result: RunResult, out: Path, label: str = "") -> None:
    from cujeval.reporters import write_all

    state = config.stash[_STATE]
    with _tracking_uri(state.options.tracking_uri):
        failures = write_all(result, out, mlflow=state.options.mlflow, console=False)
    gate = result.gate
    verdict = "passed" if gate.passed else "failed"
    line = f"{label or result.suite}: gate {verdict} (exit {gate.exit_code})"
    if gate.blocking:
        line += ": " + "; ".join(gate.blocking[:5]) + (" ..." if len(gate.blocking) > 5 else "")
    state.summary.append(f"{line}\n  reports: {_shown(out)}/ (report.html, summary.md)")
    state.summary += [f"  warning: {f}" for f in failures]


@contextmanager
def _tracking_uri(uri: str | None) -> Iterator[None]:
    if uri is None:
        yield
        return
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous


def _in_thread(factory: Callable[[], Awaitable[T]]) -> T:
    """``await factory()`` on a fresh event loop in its own thread, so a loop that
    pytest-asyncio (or the test) runs or has set in this thread is neither needed nor touched.
    Ctrl-C cancels the run (it stops cleanly, keeping what finished) and is re-raised."""
    box: dict[str, Any] = {}

    async def main() -> T:
        box["loop"], box["task"] = asyncio.get_running_loop(), asyncio.current_task()
        return await factory()

    def work() -> None:
        try:
            box["value"] = asyncio.run(main())
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work, name="cujeval-run", daemon=True)
    thread.start()
    try:
        thread.join()
    except KeyboardInterrupt:
        if "task" in box:
            box["loop"].call_soon_threadsafe(box["task"].cancel)
        thread.join(60)
        raise
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or not state.summary:
        return
    terminalreporter.write_sep("-", "cujeval")
    for line in state.summary:
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(_STATE, None)
    workeroutput = getattr(session.config, "workeroutput", None)
    if state is not None and workeroutput is not None and state.summary:
        workeroutput["cujeval_summary"] = list(state.summary)  # to the xdist controller


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: a worker's run summaries join the controller's."""
    lines = getattr(node, "workeroutput", {}).get("cujeval_summary")
    state = node.config.stash.get(_STATE, None)
    if lines and state is not None:
        state.summary += lines


# ----------------------------------------------------------------- journeys written in Python

_MARKER_ARGS = {
    "target": "a callable of the case, the URL of an HTTP endpoint, or a target mapping",
    "cases": "golden cases: a list of mappings (id, input, reference, ...)",
    "dataset": "a golden dataset file, relative to the test file",
    "scorers": "scorer names, or {name: options} mappings",
    "slos": "SLOs as in a suite: a list of mappings, or a mapping of name to mapping",
    "name": "the journey's name (default: the test's name)",
    "description": "the journey's description",
    "suite": "the suite (MLflow experiment) name (default: the test file's name)",
    "settings": "run settings as in a suite's settings:",
    "instructions": "instructions applied to every case",
    "prices": "a price table as in a suite's prices:",
    "judge": "an LLM judge block as in a suite's judge:",
}
_TYPES: dict[str, tuple[type, ...]] = {
    "cases": (list, tuple),
    "dataset": (str, os.PathLike),
    "scorers": (list, tuple),
    "slos": (list, tuple, Mapping),
    "name": (str,),
    "description": (str,),
    "suite": (str,),
    "settings": (Mapping,),
    "instructions": (list, tuple),
    "prices": (Mapping,),
    "judge": (Mapping,),
}


def _check_journey_args(args: tuple[Any, ...], kwargs: Mapping[str, Any], where: str) -> None:
    """The ``cuj`` marker's (or ``cuj_run``'s) arguments, checked by shape; CujevalFailure
    with a readable message."""
    if args:
        raise CujevalFailure(
            f"{where}: takes keyword arguments only, e.g. "
            "@pytest.mark.cuj(target=answer, cases=[...], scorers=[...], slos=[...])"
        )
    for key, value in kwargs.items():
        if key not in _MARKER_ARGS:
            close = difflib.get_close_matches(key, _MARKER_ARGS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise CujevalFailure(
                f"{where}: unknown argument {key!r}{hint} (arguments: "
                + ", ".join(_MARKER_ARGS)
                + ")"
            )
        kinds = _TYPES.get(key)
        if key == "target":
            if not (callable(value) or isinstance(value, str | Mapping)):
                raise CujevalFailure(f"{where}: target= must be {_MARKER_ARGS['target']}")
        elif kinds is not None and not isinstance(value, kinds):
            raise CujevalFailure(
                f"{where}: {key}= must be {_MARKER_ARGS[key]}, not {type(value).__name__}"
            )


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("cuj")
    if marker is not None:
        try:
            _check_journey_args(marker.args, marker.kwargs, f"@pytest.mark.cuj on {item.nodeid}")
        except CujevalFailure as exc:
            pytest.fail(str(exc), pytrace=False)


class CujRun:
    """The ``cuj_run`` fixture: run the journey of the test's ``cuj`` marker (keyword
    arguments override the marker's) and return its RunResult, reports written.

    ``cuj_run(...)`` runs on its own event loop in a worker thread (fine in sync and async
    tests); ``await cuj_run.arun(...)`` runs on the test's loop (a target served by it)."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._calls = 0

    def __call__(self, **journey: Any) -> RunResult:
        suite, out = self._prepare(journey)
        from cujeval.runner import run

        with self._bad_input():
            options = self._options(out)
            result = _in_thread(lambda: run(suite, options))
        return self._finish(result, out)

    async def arun(self, **journey: Any) -> RunResult:
        """:meth:`__call__` on the running event loop."""
        suite, out = self._prepare(journey)
        from cujeval.runner import run

        with self._bad_input():
            result = await run(suite, self._options(out))
        return self._finish(result, out)

    @contextmanager
    def _bad_input(self) -> Iterator[None]:
        """Bad input met when the run starts (a target that cannot be built) fails the test
        with its message alone."""
        from cujeval.errors import InputError

        try:
            yield
        except InputError as exc:
            pytest.fail(f"cuj_run in {self._request.node.nodeid}: {_message(exc)}", pytrace=False)

    def suite(self, **journey: Any) -> Suite:
        """The Suite the journey becomes (validated), without running it."""
        return self._prepare(journey, write=False)[0]

    def _options(self, out: Path) -> Any:
        return _run_options(self._request.config, out)

    def _prepare(self, overrides: Mapping[str, Any], *, write: bool = True) -> tuple[Suite, Path]:
        node = self._request.node
        marker = node.get_closest_marker("cuj")
        where = f"cuj_run in {node.nodeid}"
        try:
            _check_journey_args((), overrides, where)
            kwargs = {**(marker.kwargs if marker else {}), **overrides}
            if not kwargs:
                raise CujevalFailure(
                    f"{where}: no journey: mark the test @pytest.mark.cuj(target=..., "
                    "cases=... or dataset=..., scorers=[...], slos=[...]) or pass them"
                )
            self._calls += 1
            return _build_suite(kwargs, node, self._output(kwargs), where, write=write)
        except CujevalFailure as exc:
            pytest.fail(str(exc), pytrace=False)

    def _output(self, kwargs: Mapping[str, Any]) -> Path:
        node = self._request.node
        state = self._request.config.stash[_STATE]
        suite = str(kwargs.get("suite") or _slug(node.path.stem))
        leaf = _slug(str(kwargs.get("name") or _default_name(node)))
        leaf += f"-{self._calls}" if self._calls > 1 else ""
        if state.options.output is not None:
            return state.options.output / suite / leaf
        from cujeval.paths import new_run_dir

        return new_run_dir(_reports(self._request.config), suite)

    def _finish(self, result: RunResult, out: Path) -> RunResult:
        node = self._request.node
        _report(self._request.config, result, out, label=f"{node.nodeid} ({result.suite})")
        node.stash.setdefault(_RESULTS, []).append((result, out))
        for journey in result.journeys:
            for slo in journey.slos:
                gate = result.gate.action(journey.name, slo.name)
                for key, value in _properties(slo, gate, "")[:2]:
                    node.user_properties.append((f"{journey.name}/{slo.name}.{key}", value))
                for key in ("estimate", "lower", "upper", "n"):
                    value = getattr(slo, key)
                    if value is not None:
                        node.user_properties.append((f"{journey.name}/{slo.name}.{key}", value))
        return result


@pytest.fixture
def cuj_run(request: pytest.FixtureRequest) -> CujRun:
    """Run a journey written in Python: ``result = cuj_run()``, then
    ``assert result.slo("grounded").met``. See :class:`CujRun`."""
    return CujRun(request)


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "-", text).strip("-._")
    return slug or "journey"


def _default_name(node: pytest.Item) -> str:
    return node.name.removeprefix("test_") or node.name


def _build_suite(
    kwargs: Mapping[str, Any], node: pytest.Item, out: Path, where: str, *, write: bool
) -> tuple[Suite, Path]:
    """The one-journey Suite the arguments describe, validated as a suite file would be."""
    from pydantic import ValidationError

    from cujeval.suite import Suite

    missing = [k for k in ("target", "scorers", "slos") if k not in kwargs]
    if missing:
        raise CujevalFailure(f"{where}: missing {', '.join(f'{k}=' for k in missing)}")
    if ("cases" in kwargs) == ("dataset" in kwargs):
        raise CujevalFailure(f"{where}: give exactly one of cases= (inline) or dataset= (a file)")
    target_name, target = _target_spec(kwargs["target"], where)
    if not kwargs["slos"]:
        raise CujevalFailure(f"{where}: slos= is empty: give at least one SLO")
    if "cases" in kwargs:
        dataset = str((out / "cases.jsonl").resolve())
        _check_cases(kwargs["cases"], where)
        if write:
            _write_cases(kwargs["cases"], out / "cases.jsonl")
    else:
        dataset = os.fspath(kwargs["dataset"])
    slos = kwargs["slos"]
    if isinstance(slos, Mapping):
        slos = [{"name": name, **dict(spec)} for name, spec in slos.items()]
    journey: dict[str, Any] = {
        "name": kwargs.get("name") or _default_name(node),
        "description": kwargs.get("description", ""),
        "dataset": dataset,
        "target": target_name,
        "scorers": list(kwargs["scorers"]),
        "slos": [dict(s) if isinstance(s, Mapping) else s for s in slos],
        "instructions": list(kwargs.get("instructions", ())),
    }
    data: dict[str, Any] = {
        "name": kwargs.get("suite") or _slug(node.path.stem),
        "targets": {target_name: target},
        "journeys": [journey],
        "settings": dict(kwargs.get("settings", {})),
        "prices": dict(kwargs.get("prices", {})),
        "judge": dict(kwargs["judge"]) if kwargs.get("judge") else None,
        "path": node.path,
    }
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        at = _marker_field(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        raise CujevalFailure(f"{where}: {at + ': ' if at else ''}{msg}") from None
    if write:
        from cujeval.errors import InputError
        from cujeval.runner import validate

        try:
            validate(suite)
        except InputError as exc:
            raise CujevalFailure(f"{where}: {exc.message}") from None
    return suite, out


def _marker_field(loc: tuple[int | str, ...]) -> str:
    """A pydantic location in the built suite, as the marker argument it came from."""
    from cujeval.yamlsource import dotted

    parts = [p for p in loc if p not in ("openai", "http", "python")]
    if parts[:2] == ["journeys", 0]:
        parts = parts[2:]
    elif parts[:1] == ["targets"]:
        parts = ["target", *parts[2:]]
    return dotted([str(p) if not isinstance(p, int) else p for p in parts])


def _target_spec(target: Any, where: str) -> tuple[str, dict[str, Any]]:
    """(name, spec) for a callable, a URL, ``module:function`` or a target mapping."""
    if isinstance(target, Mapping):
        return "service", dict(target)
    if isinstance(target, str):
        if target.startswith(("http://", "https://")):
            return "service", {"kind": "http", "url": target}
        if re.fullmatch(r"[\w.]+:[\w.]+", target):
            return target.rsplit(":", 1)[1], {"kind": "python", "callable": target}
        raise CujevalFailure(
            f"{where}: target={target!r} is neither an http(s) URL nor 'package.module:function'"
        )
    if callable(target):
        return _slug(getattr(target, "__name__", "target")), {
            "kind": "python",
            "callable": _callable_path(target),
        }
    raise CujevalFailure(f"{where}: target= must be {_MARKER_ARGS['target']}")


def _callable_path(fn: Callable[..., Any]) -> str:
    """``module:qualname`` when that finds ``fn`` again, else a name in this module."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    obj: Any = sys.modules.get(module or "")
    for part in qualname.split(".") if obj is not None and "<" not in qualname else ():
        obj = getattr(obj, part, None)
    if obj is fn:
        return f"{module}:{qualname}"
    key = f"fn{id(fn)}"
    setattr(_CALLABLES, key, fn)
    return f"{__name__}:_CALLABLES.{key}"


def _check_cases(cases: Iterable[Any], where: str) -> None:
    from pydantic import BaseModel, ValidationError

    from cujeval.records import GoldenCase
    from cujeval.yamlsource import dotted

    ids: set[str] = set()
    for i, case in enumerate(cases):
        data = case.model_dump() if isinstance(case, BaseModel) else case
        try:
            parsed = GoldenCase.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            at = dotted([f"cases[{i}]", *err["loc"]]) if err["loc"] else f"cases[{i}]"
            msg = "is required" if err["type"] == "missing" else err["msg"]
            raise CujevalFailure(f"{where}: {at}: {msg}") from None
        if parsed.id in ids:
            raise CujevalFailure(f"{where}: cases[{i}]: duplicate case id {parsed.id!r}")
        ids.add(parsed.id)
    if not ids:
        raise CujevalFailure(f"{where}: cases= is empty")


def _write_cases(cases: Iterable[Any], path: Path) -> None:
    import json

    from pydantic import BaseModel

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for case in cases:
            data = case.model_dump(mode="json") if isinstance(case, BaseModel) else dict(case)
            f.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test that ran journeys shows their verdicts in a report section."""
    report = yield
    runs = item.stash.get(_RESULTS, None)
    if runs and report.failed and call.when == "call":
        from cujeval.reporters.format import sentence

        lines = []
        for result, out in runs:
            gate = result.gate
            lines.append(
                f"{result.suite}: gate {'passed' if gate.passed else 'failed'} "
                f"(exit {gate.exit_code}); report: {_shown(out / 'report.html')}"
            )
            lines += [f"  {sentence(j.name, s)}" for j in result.journeys for s in j.slos]
        report.sections.append(("cujeval verdicts", "\n".join(lines)))
    return report
