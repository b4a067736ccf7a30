"""MLflow in a second process, so its start-up overlaps the run instead of following it.

Importing MLflow and opening its store takes about 1.7 s of CPU (MLflow 3.17, SQLite), more
than a short run takes in all. ``cujeval run`` starts this worker before it loads the suite:
the worker imports MLflow and opens the store on the other core while the cases run, reads
the budget history as soon as it can (``prefetch_journeys``), and logs the finished run when
asked. The command still returns only once MLflow holds the run.

The protocol is one JSON object per line: requests ``{"op": ..., "args": {...}}`` on the
worker's stdin, replies ``{"ok": value}`` or ``{"error": class, "message": text}`` on a copy
of its stdout (its own stdout goes to stderr, so nothing MLflow prints can break a reply), in
the order of the requests. Errors come back as the classes the in-process calls raise
(``TrackingUnavailable`` exit 3, ``ReporterError``). A worker that cannot start or dies is
not fatal: each call then runs in this process, as it would without a worker.

The worker ignores SIGINT, so a Ctrl-C that reaches the whole process group stops the run but
not its logging (the run is logged as aborted). It ends when its stdin closes or when
:meth:`Tracking.close` stops it, which happens only once every write it was asked for has
been answered. Modules MLflow imports at start-up but logging never uses are deferred in the
worker (``DEFERRED``): they load on first use, if any.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cujeval.errors import CujevalError, InputError, ReporterError

if TYPE_CHECKING:
    from cujeval.spec.results import RunResult
    from cujeval.tracking.history import JourneyRecord

__all__ = ["Tracking"]


class _Gone(Exception):
    """The worker is not there to answer."""


class Tracking:
    """The parent's handle on the worker (or, failing it, on MLflow in this process)."""

    def __init__(self, tracking_uri: str | None = None, *, spawn: bool = True) -> None:
        self.tracking_uri = tracking_uri
        self._proc: subprocess.Popen[str] | None = None
        self._sent = 0  # requests written
        self._read = 0  # replies read
        self._replies: dict[int, dict[str, Any]] = {}
        self._prefetched: dict[tuple[str, str | None, int], int] = {}
        if spawn:
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "cujeval.tracking.worker", tracking_uri or ""],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    encoding="utf-8",
                    env=_env(),
                )
            except OSError:
                self._proc = None

    # ---- requests -------------------------------------------------------------------------

    def prefetch_journeys(self, suite: str, *, trigger: str | None, runs: int) -> None:
        """Ask for the budget history now; :meth:`read_journeys` with the same arguments
        collects it."""
        k = (suite, trigger, runs)
        if k not in self._prefetched:
            with contextlib.suppress(_Gone):
                self._prefetched[k] = self._submit(
                    "read_journeys", suite=suite, trigger=trigger, runs=runs
                )

    def read_journeys(
        self, suite: str, *, trigger: str | None = None, runs: int = 28
    ) -> list[JourneyRecord]:
        from cujeval.tracking.history import JourneyRecord

        k = (suite, trigger, runs)
        try:
            ticket = self._prefetched.pop(k, None)
            if ticket is None:
                ticket = self._submit("read_journeys", suite=suite, trigger=trigger, runs=runs)
            return [JourneyRecord(**r) for r in self._collect(ticket)]
        except _Gone:
            from cujeval.tracking.history import client, read_journeys

            return read_journeys(client(self.tracking_uri), suite, trigger=trigger, runs=runs)

    def log(self, result: RunResult, directory: Path) -> tuple[str, str]:
        """Log the run in ``directory`` (its results.json must equal ``result``); returns the
        parent run's id and the tracking URI as shown to users."""
        try:
            got = self._collect(self._submit("log", directory=str(directory)))
            return str(got["run_id"]), str(got["uri"])
        except _Gone:
            from cujeval.tracking import logger as reporter
            from cujeval.tracking.history import client, shown_uri

            run_id = reporter.log(result, directory, tracking_uri=self.tracking_uri)
            return run_id, shown_uri(client(self.tracking_uri))

    def close(self) -> None:
        """End the worker. Every write it was asked for has been answered (and so committed)
        by now: what may still be going on is its start-up or a read, which a command that
        ends (an exit 2 on a bad suite, say) must not wait for."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> Tracking:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the pipe -------------------------------------------------------------------------

    def _submit(self, op: str, **args: Any) -> int:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise _Gone
        try:
            proc.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
            proc.stdin.flush()
        except (OSError, ValueError):
            self._drop()
            raise _Gone from None
        self._sent += 1
        return self._sent

    def _collect(self, ticket: int) -> Any:
        while ticket not in self._replies:
            proc = self._proc
            line = proc.stdout.readline() if proc is not None and proc.stdout else ""
            if not line:
                self._drop()
                raise _Gone
            self._read += 1
            self._replies[self._read] = json.loads(line)
        reply = self._replies.pop(ticket)
        if "error" in reply:
            raise _error(str(reply["error"]), str(reply.get("message", "")))
        return reply["ok"]

    def _drop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self._prefetched.clear()


def _env() -> dict[str, str]:
    from cujeval.tracking.history import prepare_env

    prepare_env()
    return dict(os.environ)


def _error(name: str, message: str) -> CujevalError:
    from cujeval.tracking.history import TrackingUnavailable

    known: dict[str, type[CujevalError]] = {
        "TrackingUnavailable": TrackingUnavailable,
        "ReporterError": ReporterError,
    }
    if name == "InputError":
        return InputError(message)
    return known.get(name, ReporterError)(message)


# ---- the worker ---------------------------------------------------------------------------


# What the reporter imports on first use: imported before the first request comes.
PRELOADED = (
    "cujeval.spec.journal",
    "cujeval.spec.suite",
    "cujeval.reporters.openslo",
    "mlflow.entities",
)


def _serve(tracking_uri: str | None, requests: IO[str], replies: IO[str]) -> None:
    import importlib

    from cujeval.spec.results import RunResult
    from cujeval.tracking import history
    from cujeval.tracking import logger as reporter

    failed: CujevalError | None = None
    try:
        c = history.client(tracking_uri)  # imports MLflow and opens the store
    except Exception as exc:  # every request gets this answer
        failed = ReporterError(f"MLflow could not start: {type(exc).__name__}: {exc}")
    for name in PRELOADED:  # what logging imports on first use, imported while the run goes on
        importlib.import_module(name)

    def handle(op: str, args: dict[str, Any]) -> Any:
        if failed is not None:
            raise failed
        if op == "read_journeys":
            records = history.read_journeys(c, **args)
            return [dataclasses.asdict(r) for r in records]
        if op == "log":
            directory = Path(args["directory"])
            run_id = reporter.log(RunResult.read(directory), directory, tracking_uri=tracking_uri)
            return {"run_id": run_id, "uri": history.shown_uri(c)}
        raise ReporterError(f"unknown request {op!r}")

    for line in requests:
        req = json.loads(line)
        try:
            reply: dict[str, Any] = {"ok": handle(req["op"], req.get("args") or {})}
        except CujevalError as exc:
            reply = {"error": type(exc).__name__, "message": str(exc)}
        except Exception as exc:
            reply = {"error": "ReporterError", "message": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply, default=str) + "\n")
        replies.flush()


# Imported by MLflow at start-up, never used by what the worker asks of it: pandas through
# mlflow.data (~0.3 s), fastapi through the AI gateway's judges (~0.1 s). Deferred, they load
# on first use, so nothing changes but when they load.
DEFERRED = ("pandas", "fastapi")


def _defer(names: tuple[str, ...]) -> None:
    import importlib.util

    for name in names:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            continue
        spec.loader = importlib.util.LazyLoader(spec.loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


def main() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever MLflow prints goes to stderr, never into a reply
    sys.stdout = sys.stderr
    from cujeval._util.redact import guard_streams

    guard_streams()  # MLflow's messages may repeat the tracking URI's credentials
    _defer(DEFERRED)
    _serve(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else None, sys.stdin, replies)
    # every reply went out after its write was committed: nothing is left to finish, and the
    # interpreter's own teardown (MLflow's pools and threads) would only keep the caller waiting
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
