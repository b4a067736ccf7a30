"""One retry policy for the targets and the judge, and the two guards around it.

Policy (suite ``settings``): up to ``retries`` more attempts on connect errors, timeouts,
malformed or truncated bodies, 408, 429 and 5xx; other 4xx are final. The wait before retry k
(0-based) is ``Retry-After`` when the server sends one, capped at ``max_retry_after_s``, else a
full-jitter exponential backoff: uniform(0, min(max_backoff_s, backoff_s · 2^k)).
``case_deadline_s`` bounds one case with all its attempts (then it is a timeout).

:class:`AdaptiveLimit` lowers the calls in flight after a 429 (halved, at most once per
window) and grows them back by one per ``limit`` successes, the additive-increase /
multiplicative-decrease rule of TCP and of client-side rate limiters.
:class:`GiveUp` ends the run (exit 3) when the target is unreachable (five refused connections
in a row) or when no call has succeeded for ``give_up_after_s`` while every attempt failed with
429, 5xx, a timeout or a connection fault.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from cujeval.errors import (
    RunAborted,
    TargetConnectError,
    TargetError,
    TargetHTTPError,
    TargetProtocolError,
    TargetTimeout,
)

T = TypeVar("T")
UNREACHABLE_AFTER = 5  # refused connections in a row


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 20.0
    max_retry_after_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: object) -> RetryPolicy:
        return cls(
            retries=int(getattr(settings, "retries", 3)),
            backoff_s=float(getattr(settings, "backoff_s", 0.5)),
            max_backoff_s=float(getattr(settings, "max_backoff_s", 20.0)),
            max_retry_after_s=float(getattr(settings, "max_retry_after_s", 30.0)),
        )

    def wait(self, attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry ``attempt`` (0-based)."""
        if retry_after_s is not None:
            return min(max(0.0, retry_after_s), self.max_retry_after_s)
        return rng.uniform(0.0, min(self.max_backoff_s, self.backoff_s * 2**attempt))

    async def run(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        retryable: Callable[[BaseException], bool],
        retry_after: Callable[[BaseException], float | None],
        rng: random.Random,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> T:
        """``call()`` under this policy. ``on_failure`` sees every failed attempt (and may raise
        to end the run); the last exception is raised when attempts run out."""

        async def attempt() -> T:
            try:
                return await call()
            except Exception as exc:
                if on_failure is not None:
                    on_failure(exc)
                raise

        try:
            return await attempt()  # the common case: no retry machinery on the hot path
        except Exception as exc:
            if not retryable(exc) or self.retries == 0:
                raise
            first: BaseException = exc
        from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome is not None else None
            return self.wait(state.attempt_number, retry_after(exc) if exc else None, rng)

        await asyncio.sleep(self.wait(0, retry_after(first), rng))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retries),
            wait=wait,
            retry=retry_if_exception(retryable),
            reraise=True,
        )
        async for state in retrying:
            with state:
                return await attempt()
        raise AssertionError("unreachable")  # pragma: no cover


def target_retryable(exc: BaseException) -> bool:
    """Transient target faults: connect errors, timeouts, malformed bodies, 408, 429, 5xx."""
    if isinstance(exc, TargetHTTPError):
        return exc.status in (408, 429) or exc.status >= 500
    return isinstance(exc, TargetConnectError | TargetTimeout | TargetProtocolError)


def target_retry_after(exc: BaseException) -> float | None:
    return exc.retry_after_s if isinstance(exc, TargetHTTPError) else None


class AdaptiveLimit:
    """Calls in flight, between 1 and ``ceiling``: halved after a 429 (once per ``window_s``),
    one more per ``limit`` successes."""

    def __init__(self, ceiling: int, *, window_s: float = 1.0) -> None:
        self.ceiling = ceiling
        self.limit = ceiling
        self.in_flight = 0
        self._successes = 0
        self._window_s = window_s
        self._last_cut = -float("inf")
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        while self.in_flight >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.in_flight += 1

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        free = self.limit - self.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def success(self) -> None:
        if self.limit >= self.ceiling:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            self._wake()

    def throttled(self) -> None:
        now = time.monotonic()
        if now - self._last_cut >= self._window_s:
            self._last_cut = now
            self.limit = max(1, self.limit // 2)
            self._successes = 0


class RateLimit:
    """Calls started at most ``rate`` per second, evenly spaced (a client-side bound the target
    asks for, e.g. ``rate_limit: 600/min``); callers wait their turn."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


class GiveUp:
    """Decides when a target has failed long enough that the run should end (exit 3)."""

    def __init__(self, give_up_after_s: float, *, what: str = "the target") -> None:
        self.give_up_after_s = give_up_after_s
        self.what = what
        self._refused = 0
        self._failing_since: float | None = None
        self.successes = 0

    def success(self) -> None:
        self.successes += 1
        self._refused = 0
        self._failing_since = None

    def failure(self, exc: TargetError) -> None:
        """Record a failed attempt; raise RunAborted when the run should end."""
        refused = isinstance(exc, TargetConnectError)
        self._refused = self._refused + 1 if refused else 0
        if self._refused >= UNREACHABLE_AFTER:
            raise RunAborted(f"{self.what} is unreachable: {exc}")
        if not target_retryable(exc):
            self._failing_since = None
            return
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        elif now - self._failing_since >= self.give_up_after_s:
            kind = "rate-limited" if _is_429(exc) else "failed"
            raise RunAborted(
                f"{self.what} {kind} every call for {now - self._failing_since:.0f} s "
                f"(give_up_after_s={self.give_up_after_s:g}); last: {exc}"
            )


def _is_429(exc: BaseException) -> bool:
    return isinstance(exc, TargetHTTPError) and exc.status == 429
