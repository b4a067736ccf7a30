"""The ``cujeval`` command line (``main``). Exit codes: 0 gate passed; 1 gate failed; 2 bad
input, nothing run; 3 the run could not complete (finished cases are kept).

Commands live in modules of their own and register on :data:`cujeval.cli.app.app` when
imported; each keeps its imports light (typer only) so ``cujeval --help`` stays fast.
"""

from __future__ import annotations

import sys

COMMAND_MODULES: tuple[str, ...] = (
    "cujeval.cli.run",
    "cujeval.cli.history",
    "cujeval.cli.slo",
    "cujeval.cli.load",
    "cujeval.cli.drift",
    "cujeval.cli.cache",
)


def main() -> None:
    import gc
    import importlib

    from cujeval._util.redact import guard_streams

    guard_streams()  # no secret the run learns reaches the console, whoever prints it
    from cujeval.cli.app import _prestart, app

    if sys.argv[1:2] == ["run"]:
        # Start-up builds many objects that live as long as the process (modules, models,
        # the suite) and little garbage: cyclic collection waits until the run starts, and
        # then passes them over (cujeval.cli.run._collect_from_here).
        gc.disable()
        _prestart(sys.argv[2:])
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    app()
