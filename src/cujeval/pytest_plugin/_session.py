"""The plugin's session state and what its items share: the options, each suite's run, the
warnings and failures they raise, the run options of the --cuj-* flags, and a run on its own
event loop. Imports only pytest and the standard library at its top, like the plugin."""

from __future__ import annotations

import asyncio
import os
import threading
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from cujeval.pytest_plugin.suites import CaseVerdict
    from cujeval.spec.results import RunResult
    from cujeval.spec.suite import Suite

T = TypeVar("T")


class CujevalWarning(pytest.PytestWarning):
    """An SLO the gate only warns on (INCONCLUSIVE, informational, ``no_data: warn``)."""


class CujevalFailure(Exception):
    """A verdict or bad input, shown as its message alone (no traceback)."""


# ------------------------------------------------------------------------- state, options


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
class SuiteRun:
    """One suite's run this session (see :func:`cujeval.pytest_plugin.suites.run_suite`)."""

    suite: Suite | None = None  # as run: the journeys that had items selected
    result: RunResult | None = None
    output: Path | None = None
    error: str | None = None  # bad input met when the run started, or a crash
    cases: dict[str, dict[str, CaseVerdict]] = field(default_factory=dict)  # by journey


@dataclass
class _State:
    """The session's state, in the config stash."""

    options: _Options
    runs: dict[Path, SuiteRun] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    services: list[Any] = field(default_factory=list)
    env: dict[str, str | None] = field(default_factory=dict)  # variables set, previous values
    split_warned: bool = False


STATE = pytest.StashKey[_State]()
RESULTS = pytest.StashKey[list[tuple["RunResult", Path]]]()  # on a test item: its cuj_run runs


def shown(path: str | Path | None) -> str | None:
    """A path as the user would type it: relative to the working directory when inside it."""
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def message(exc: Exception) -> str:
    """An InputError's message with its file relative to the working directory."""
    from cujeval.errors import InputError

    if isinstance(exc, InputError):
        return str(InputError(exc.message, file=shown(exc.file), line=exc.line, field=exc.field))
    return f"{type(exc).__name__}: {exc}"


def warn(node: pytest.Item, text: str) -> None:
    """A CujevalWarning at the node's location, recorded even under ``-W error``: the gate
    decided this SLO does not fail the run (``--cuj-strict`` makes INCONCLUSIVE block)."""
    path, line, _ = node.reportinfo()
    with warnings.catch_warnings():
        warnings.simplefilter("always", CujevalWarning)
        warnings.warn_explicit(
            CujevalWarning(text), category=None, filename=str(path), lineno=(line or 0) + 1
        )


def reports_dir(config: pytest.Config) -> Path:
    """Where runs go without ``--cuj-output`` (like ``cujeval run``: ``reports/``)."""
    return config.invocation_params.dir / "reports"


def run_options(config: pytest.Config, out: Path, **overrides: Any) -> Any:
    """The RunOptions of one run into ``out``: the --cuj-* flags (``overrides`` on top), no
    progress bar, no console table (pytest reports), MLflow as the flags say."""
    from cujeval.spec.options import RunOptions

    state = config.stash[STATE]
    opts = {**state.options.run, **overrides}
    if "trigger" not in opts:
        ci = os.environ.get("CI", "").lower() in ("1", "true")
        opts["trigger"] = "ci" if ci else "manual"
    return RunOptions.build(
        output_dir=out,
        progress=False,
        console=False,
        mlflow=state.options.mlflow,
        tracking_uri=state.options.tracking_uri,
        **opts,
    )


def note_run(config: pytest.Config, result: RunResult, out: Path, label: str = "") -> None:
    """A line for the terminal summary: the gate, what blocks, where the reports are."""
    state = config.stash[STATE]
    gate = result.gate
    verdict = "passed" if gate.passed else "failed"
    line = f"{label or result.suite}: gate {verdict} (exit {gate.exit_code})"
    if gate.blocking:
        line += ": " + "; ".join(gate.blocking[:5]) + (" ..." if len(gate.blocking) > 5 else "")
    state.summary.append(f"{line}\n  reports: {shown(out)}/ (report.html, summary.md)")
    state.summary += [f"  warning: {n}" for n in result.notes if "reporter failed" in n]


def in_thread(factory: Callable[[], Awaitable[T]]) -> T:
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
