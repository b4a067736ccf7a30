"""pytest plugin (entry point ``cujeval`` in ``pytest11``): suite files as tests, and journeys
written in Python.

``pytest suites/`` collects each suite file (:mod:`cujeval.pytest_plugin.suites`): YAML matching the
``cuj_suite_glob`` patterns whose top level has ``targets:`` and ``journeys:`` (other YAML is
never read as a suite). ``@pytest.mark.cuj(...)`` and the ``cuj_run`` fixture run a journey
defined in a test file (:mod:`cujeval.pytest_plugin.journeys`). Both write the same reports
and MLflow runs as ``cujeval run``. This module holds the options, the session state (in the config
stash) and the hooks.

It imports only pytest and the standard library at its top: a session that collects no suite
and uses no ``cuj`` marker loads nothing else of cujeval, and prints nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cujeval.pytest_plugin._session import (
    RESULTS,
    STATE,
    CujevalFailure,
    CujevalWarning,
    _Options,
    _State,
    shown,
)
from cujeval.spec.flags import HELP, cuj_flag

if TYPE_CHECKING:
    from cujeval.pytest_plugin.journeys import CujRun

_RUN_OPTIONS: tuple[str, ...] = ("concurrency", "epochs", "strict", "gate", "judge_epochs", "limit")
_RUN_OPTIONS += ("max_duration_s", "trigger", "executor", "ray_address")  # with a --cuj-* flag
_URL_VARIABLES = ("CUJEVAL_RAG_URL", "CUJEVAL_AGENT_URL")  # of the bundled suites
_SNIFF_BYTES = 256 * 1024
_TOP_KEY = r"^{}[ \t]*:"


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
        cuj_flag("executor"), dest="cuj_executor", choices=("local", "ray"), help=HELP["executor"]
    )
    group.addoption(
        cuj_flag("ray_address"), dest="cuj_ray_address", metavar="ADDRESS", help=HELP["ray_address"]
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
    from cujeval.spec.options import RunOptions

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
    config.stash[STATE] = state
    if state.options.reference_services and not hasattr(config, "workerinput"):
        _start_reference_services(state)  # xdist workers inherit the variables


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
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

    from cujeval._util.extras import missing
    from cujeval.errors import CujevalError
    from cujeval.reference.agent.launch import start_agent_service
    from cujeval.reference.launch import start_rag_service

    starters = dict(zip(_URL_VARIABLES, (start_rag_service, start_agent_service), strict=True))
    wanted = [name for name in _URL_VARIABLES if not os.environ.get(name)]
    if not wanted:
        return
    if hint := missing("reference", "--cuj-reference-services", "fastapi", "uvicorn"):
        raise pytest.UsageError(hint)
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


# ----------------------------------------------------------------------------- collection


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = parent.config.getini("cuj_suite_glob")
    if not any(file_path.match(p) for p in patterns) or not _looks_like_suite(file_path):
        return None
    from cujeval.pytest_plugin.suites import SuiteFile

    return SuiteFile.from_parent(parent, path=file_path)


def _looks_like_suite(path: Path) -> bool:
    """Top-level ``targets:`` and ``journeys:`` keys, read from the text (no YAML parser)."""
    try:
        with path.open("rb") as f:
            text = f.read(_SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    return all(re.search(_TOP_KEY.format(k), text, re.MULTILINE) for k in ("targets", "journeys"))


# ------------------------------------------------------------------- shared by the items


# --------------------------------------------------------------------------------- hooks


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or not state.summary:
        return
    terminalreporter.write_sep("-", "cujeval")
    for line in state.summary:
        terminalreporter.write_line(line)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: tell each worker the --dist mode (workers see "no")."""
    node.workerinput["cujeval_dist"] = node.config.getoption("dist", None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE, None)
    workeroutput = getattr(session.config, "workeroutput", None)
    if state is not None and workeroutput is not None and state.summary:
        workeroutput["cujeval_summary"] = list(state.summary)  # to the xdist controller


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: a worker's run summaries join the controller's."""
    lines = getattr(node, "workeroutput", {}).get("cujeval_summary")
    state = node.config.stash.get(STATE, None)
    if lines and state is not None:
        state.summary += lines


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("cuj")
    if marker is not None:
        from cujeval.pytest_plugin.journeys import check_journey_args

        try:
            check_journey_args(marker.args, marker.kwargs, f"@pytest.mark.cuj on {item.nodeid}")
        except CujevalFailure as exc:
            pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def cuj_run(request: pytest.FixtureRequest) -> CujRun:
    """Run a journey written in Python: ``result = cuj_run()``, then
    ``assert result.slo("grounded").met``. See :class:`cujeval.pytest_plugin.journeys.CujRun`."""
    from cujeval.pytest_plugin.journeys import CujRun

    return CujRun(request)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test that ran journeys shows their verdicts in a report section."""
    outcome = yield
    runs = item.stash.get(RESULTS, None)
    if runs and outcome.failed and call.when == "call":
        from cujeval.reporters.format import sentence

        lines = []
        for result, out in runs:
            gate = result.gate
            lines.append(
                f"{result.suite}: gate {'passed' if gate.passed else 'failed'} "
                f"(exit {gate.exit_code}); report: {shown(out / 'report.html')}"
            )
            lines += [f"  {sentence(j.name, s)}" for j in result.journeys for s in j.slos]
        outcome.sections.append(("cujeval verdicts", "\n".join(lines)))
    return outcome


__all__ = ["CujevalWarning", "cuj_run"]
