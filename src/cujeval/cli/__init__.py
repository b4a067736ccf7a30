"""The ``cujeval`` command line (``main``). Exit codes: 0 gate passed; 1 gate failed; 2 bad
input, nothing run; 3 the run could not complete (finished cases are kept).

Commands live in modules of their own and register on :data:`cujeval.cli.app.app` when
imported; each keeps its imports light (typer only) so ``cujeval --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

COMMAND_MODULES: tuple[str, ...] = (
    "cujeval.cli.run",
    "cujeval.cli.history",
    "cujeval.cli.report",
    "cujeval.cli.slo",
    "cujeval.cli.load",
    "cujeval.cli.drift",
    "cujeval.cli.cache",
    "cujeval.cli.constraints",
)


def application() -> typer.Typer:
    """The command line with every command registered (tests drive it with typer's runner)."""
    import importlib

    from cujeval.cli.app import app

    for module in COMMAND_MODULES:
        importlib.import_module(module)
    return app


def main() -> None:
    import gc

    from cujeval._util.quiet import quiet_libraries, set_verbose
    from cujeval._util.redact import guard_streams
    from cujeval.cli.prestart import prestart

    guard_streams()  # no secret the run learns reaches the console, whoever prints it
    if "--verbose" in sys.argv[1:]:  # anywhere on the line, before or after the command
        sys.argv = [a for a in sys.argv if a != "--verbose"]
        set_verbose()
    quiet_libraries()
    if sys.argv[1:2] == ["run"]:
        # Start-up builds many objects that live as long as the process (modules, models,
        # the suite) and little garbage: cyclic collection waits until the run starts, and
        # then passes them over (cujeval.cli.run._collect_from_here).
        gc.disable()
        prestart(sys.argv[2:])
    application()()
