"""Progress of long jobs on stderr: :func:`progress_bar` for runs (a rich bar, silent when
disabled or not a terminal), :class:`Ticker` for ``cujeval score`` (a bar on a terminal,
periodic lines otherwise)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO


@contextmanager
def progress_bar(
    total: int, *, initial: int = 0, enabled: bool = True
) -> Iterator[Callable[[], None]]:
    if not enabled or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("cases"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        task = progress.add_task("run", total=total, completed=initial)
        yield lambda: progress.advance(task)


class Ticker:
    """Progress of a long job for whoever watches it: a bar on a terminal, lines otherwise.

    ``status()`` says what else is going on (judge calls, failures so far) and is read on
    every refresh. Off a terminal a line goes to ``stream`` when the count crosses each tenth
    of ``total``, every ``every_s`` seconds while nothing finishes (a slow judge is not a hung
    one), and at the end. Use as a context manager; call :meth:`tick` per finished item.
    """

    def __init__(
        self,
        total: int,
        *,
        label: str = "rows",
        status: Callable[[], str] = lambda: "",
        enabled: bool = True,
        every_s: float = 30.0,
        stream: TextIO | None = None,
        tty: bool | None = None,
    ) -> None:
        self.total = total
        self.done = 0
        self.label = label
        self.status = status
        self.enabled = enabled
        self.every_s = every_s
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._started = time.monotonic()
        self._step = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None
        self._task: Any = None

    def line(self) -> str:
        """``12/40 rows, 31 s; judge: 96 calls (12 cached), 1 failed``."""
        elapsed = time.monotonic() - self._started
        text = f"{self.done}/{self.total} {self.label}, {elapsed:.0f} s"
        extra = self.status()
        return f"{text}; {extra}" if extra else text

    def __enter__(self) -> Ticker:
        if not self.enabled:
            return self
        if self.tty:
            self._start_bar()
        else:
            self._thread = threading.Thread(target=self._beat, name="cujeval-progress", daemon=True)
            self._thread.start()
        return self

    def tick(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            step = (10 * self.done) // self.total if self.total else 10
            crossed = step > self._step
            self._step = max(step, self._step)
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
        elif crossed and self.done < self.total:
            self._print()

    def __exit__(self, *exc: object) -> None:
        if not self.enabled:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._bar is not None:
            self._bar.stop()
        else:
            self._print()

    def _print(self) -> None:
        with self._lock:
            print(self.line(), file=self.stream, flush=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            self._print()

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.text import Text

        status = self.status

        class Status(ProgressColumn):
            def render(self, task: Any) -> Text:
                return Text(status())

        self._bar = Progress(
            TextColumn(self.label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            Status(),
            console=Console(file=self.stream),
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=self.total, completed=self.done)
