"""MLflow in a second process, so its start-up overlaps the run instead of following it.

Importing MLflow and opening its store takes about 1.7 s of CPU (MLflow 3.17, SQLite), more
than a short run takes in all. ``cujeval run`` starts this worker before it loads the suite:
the worker imports MLflow and opens the store on the other core while the cases run, reads
the budget history as soon as it can (``prefetch_journeys``), creates the run's MLflow runs
when the run starts (``begin``), writes the traces of the cases as they finish, between
requests, from the run's journal (cujeval.tracking.stream), and finishes the run's record
when asked (``log``). The command still returns only once MLflow holds the whole run.

The protocol is one JSON object per line: requests ``{"op": ..., "args": {...}}`` on the
worker's stdin, replies ``{"ok": value}`` or ``{"error": class, "message": text}`` on a copy
of its stdout (its own stdout goes to stderr, so nothing MLflow prints can break a reply), in
the order of the requests. Errors come back as the classes the in-process calls raise
(``TrackingUnavailable`` exit 3, ``ReporterError``). A worker that cannot start or dies is
not fatal: each call then runs in this process, as it would without a worker.

The worker ignores SIGINT, so a Ctrl-C that reaches the whole process group stops the run but
not its logging (the run is logged as aborted). It ends when its stdin closes or when
:meth:`Tracking.close` stops it, which happens only once every write it was asked for has
been answered; runs it began for a run never logged (the command failed) it ends as KILLED
first. Modules MLflow imports at start-up but logging never uses are deferred in the
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


ABANDON_WAIT_S = 5.0


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
        self._begun: Path | None = None  # a run folder whose runs were begun, not logged yet
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

    def begin(
        self,
        directory: Path,
        *,
        suite: str,
        run_id: str,
        started_at: str,
        trigger: str,
        journeys: list[str],
    ) -> None:
        """The run in ``directory`` has started: its MLflow runs are created now and its
        traces written from its journal while the cases run (cujeval.tracking.stream).
        Nothing waits for it: :meth:`log` finishes the runs when the run is over."""
        from cujeval._util.redact import redact

        with contextlib.suppress(_Gone):
            self._submit(
                "begin",
                directory=str(directory),
                suite=redact(suite),
                run_id=redact(run_id),
                started_at=started_at,
                trigger=trigger,
                journeys=[redact(j) for j in journeys],
            )
            self._begun = directory

    def log(self, result: RunResult, directory: Path) -> tuple[str, str]:
        """Log the run in ``directory`` (its results.json must equal ``result``); returns the
        parent run's id and the tracking URI as shown to users."""
        try:
            ticket = self._submit("log", directory=str(directory))
            self._begun = None
            got = self._collect(ticket)
            return str(got["run_id"]), str(got["uri"])
        except _Gone:
            from cujeval.tracking import logger as reporter
            from cujeval.tracking.history import client, shown_uri

            run_id = reporter.log(result, directory, tracking_uri=self.tracking_uri)
            return run_id, shown_uri(client(self.tracking_uri))

    def close(self) -> None:
        """End the worker. Every write it was asked for has been answered (and so committed)
        by now: what may still be going on is its start-up or a read, which a command that
        ends (an exit 2 on a bad suite, say) must not wait for. Runs begun and never logged
        (the command failed) are ended as KILLED first: the worker does that when its input
        closes, given a few seconds."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        if self._begun is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(ABANDON_WAIT_S)
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
    from cujeval.tracking.env import prepare_env

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


def _serve(tracking_uri: str | None, requests: int, replies: IO[str]) -> None:
    """Answer the requests on file descriptor ``requests``, in order; between them, write
    the traces of a begun run's new journal rows."""
    import importlib

    from cujeval.spec.results import RunResult
    from cujeval.tracking import history
    from cujeval.tracking import logger as reporter
    from cujeval.tracking.stream import TraceStream

    failed: CujevalError | None = None
    try:
        c = history.client(tracking_uri)  # imports MLflow and opens the store
    except Exception as exc:  # every request gets this answer
        failed = ReporterError(f"MLflow could not start: {type(exc).__name__}: {exc}")
    for name in PRELOADED:  # what logging imports on first use, imported while the run goes on
        importlib.import_module(name)
    stream: TraceStream | None = None

    def handle(op: str, args: dict[str, Any]) -> Any:
        nonlocal stream
        if failed is not None:
            raise failed
        if op == "read_journeys":
            records = history.read_journeys(c, **args)
            return [dataclasses.asdict(r) for r in records]
        if op == "begin":
            stream = None
            stream = reporter.begin(c, Path(args.pop("directory")), **args)
            return {"run_id": stream.started.parent}
        if op == "log":
            directory = Path(args["directory"])
            mine, stream = stream, None
            run_id = reporter.log(
                RunResult.read(directory), directory, tracking_uri=tracking_uri, stream=mine
            )
            return {"run_id": run_id, "uri": history.shown_uri(c)}
        raise ReporterError(f"unknown request {op!r}")

    lines = _Lines(requests)
    while True:
        line = lines.next(stream.due_in() if stream is not None else None)
        if line is None:  # nothing asked: the begun run's new rows
            if stream is not None:
                stream.tick()
            continue
        if not line:
            break
        req = json.loads(line)
        try:
            reply: dict[str, Any] = {"ok": handle(req["op"], req.get("args") or {})}
        except CujevalError as exc:
            reply = {"error": type(exc).__name__, "message": str(exc)}
        except Exception as exc:
            reply = {"error": "ReporterError", "message": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply, default=str) + "\n")
        replies.flush()
    if stream is not None:  # begun, never logged: the command ended without a result
        with contextlib.suppress(Exception):
            reporter.finish_aborted(c, stream)


class _Lines:
    """Lines from a file descriptor, with a timeout."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""
        self.eof = False

    def next(self, timeout: float | None) -> str | None:
        """The next line; "" at the end of input; None when ``timeout`` passes first."""
        import select

        while b"\n" not in self.buf:
            if self.eof:
                return ""
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                self.eof = True
                continue
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8") + "\n"


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
    from cujeval._util.quiet import quiet_libraries
    from cujeval._util.redact import guard_streams

    guard_streams()  # MLflow's messages may repeat the tracking URI's credentials
    quiet_libraries()  # as the command that started it (``--verbose``: CUJEVAL_VERBOSE)
    _defer(DEFERRED)
    uri = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else None
    _serve(uri, sys.stdin.fileno(), replies)
    # every reply went out after its write was committed: nothing is left to finish, and the
    # interpreter's own teardown (MLflow's pools and threads) would only keep the caller waiting
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
