"""An async chat client for any OpenAI-compatible judge server.

Built on the ``openai`` SDK (its own retries off), it adds what a judge needs: one concurrency
bound per config, retries with exponential backoff and full jitter on 408/429/5xx, timeouts and
connection faults (honouring Retry-After), a disk cache so re-runs pay nothing twice, and usage
accounting per judgement. Authorisation refused (401/403) or no such route (404) aborts the
run: every later call would be refused too; so does a server that stays unreachable. A timeout,
a refusal or a server error fails one judgement (:class:`JudgeCallFailed`, with its reason).
Only whole answers that parsed are cached (:meth:`JudgeView.commit`). The API key is read from
the environment when a client is first used in an event loop and lives only inside the SDK
client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cujeval._util.retry import RetryPolicy
from cujeval.errors import JudgeUnavailable, RunAborted
from cujeval.scorers.judges import failures
from cujeval.scorers.judges.cache import ResponseCache, request_key
from cujeval.scorers.judges.failures import JudgeCallFailed
from cujeval.scorers.judges.ledger import Ledger
from cujeval.spec.judge import JudgeConfig
from cujeval.targets.base import redact_url

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion

log = logging.getLogger("cujeval.judge")

_DUMMY_KEY = "cujeval-no-key"
_RETRY_STATUS = frozenset({408, 409, 429})
_MAX_RETRY_AFTER_S = 60.0


@dataclass
class ClientStats:
    """Totals of one client over its life: what the server saw, what the cache saved.

    ``stored``: answers written to the cache; ``not_stored``: answers kept out of it (cut at
    max_tokens, refused, or never parsed); ``failure_reasons``: failed calls by reason."""

    requests: int = 0
    answered: int = 0
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0
    stored: int = 0
    not_stored: int = 0
    failure_reasons: Counter[str] = field(default_factory=Counter)


@dataclass
class _LoopState:
    openai: AsyncOpenAI
    semaphore: asyncio.Semaphore


class JudgeClient:
    """Chat completions against ``config.base_url`` with bounds, retries, cache and counters."""

    def __init__(
        self,
        config: JudgeConfig,
        *,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        seed: int | None = None,
    ) -> None:
        self.config = config
        self.stats = ClientStats()
        self.shown_url = redact_url(config.base_url)
        self._policy = RetryPolicy(
            retries=config.max_retries,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            max_retry_after_s=_MAX_RETRY_AFTER_S,
        )
        self._rng = random.Random(seed)
        self._cache = ResponseCache(config.cache_dir) if config.cache_dir else None
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )

    def bind(
        self, *, epoch: int = 0, ledger: Ledger | None = None, prompt: str | None = None
    ) -> JudgeView:
        """The client as one judgement sees it: its epoch, its ledger and the version of the
        scorer's own prompt (part of every cache key it makes)."""
        return JudgeView(
            self, epoch=epoch, ledger=ledger if ledger is not None else Ledger(), prompt=prompt
        )

    def key(
        self,
        request: dict[str, Any],
        *,
        epoch: int = 0,
        repeat: int = 0,
        prompt: str | None = None,
    ) -> str:
        """The cache key of ``request``: model, template and prompt versions, settings,
        messages, epoch."""
        return request_key(
            request,
            epoch=epoch,
            repeat=repeat,
            temperature=self.config.temperature,
            max_tokens=self.config.max_tokens,
            prompt=prompt,
        )

    async def create(
        self,
        request: dict[str, Any],
        *,
        epoch: int = 0,
        repeat: int = 0,
        ledger: Ledger | None = None,
    ) -> ChatCompletion:
        """One chat completion (``request`` as for ``chat.completions.create``), cached when
        the answer is whole (a caller that parses it should use :class:`JudgeView`, which
        caches only what parsed)."""
        completion, key, cached = await self.fetch(
            request, epoch=epoch, repeat=repeat, ledger=ledger
        )
        if not cached:
            self.store(key, completion, completion.model_dump_json())
        return completion

    async def fetch(
        self,
        request: dict[str, Any],
        *,
        epoch: int = 0,
        repeat: int = 0,
        ledger: Ledger | None = None,
        prompt: str | None = None,
    ) -> tuple[ChatCompletion, str, bool]:
        """The cached answer, or the server's (not stored): ``(completion, key, cached)``."""
        key = self.key(request, epoch=epoch, repeat=repeat, prompt=prompt)
        hit = self._cached(key)
        if hit is not None:
            self.stats.cache_hits += 1
            if ledger is not None:
                ledger.record(hit.usage, cached=True)
            return hit, key, True
        completion = await self._send(request, ledger)
        if ledger is not None:
            ledger.record(completion.usage, cached=False)
        return completion, key, False

    def store(self, key: str, completion: ChatCompletion, blob: str) -> bool:
        """Write ``blob`` (the completion as received) under ``key`` if it is a whole answer."""
        if self._cache is None:
            return False
        if not failures.complete(completion):
            self.stats.not_stored += 1
            return False
        self._cache.set(key, blob)
        self.stats.stored += 1
        return True

    def _cached(self, key: str) -> ChatCompletion | None:
        """The stored completion, or None (also when an entry no longer parses)."""
        import pydantic
        from openai.types.chat import ChatCompletion

        hit = self._cache.get(key) if self._cache is not None else None
        if hit is None:
            return None
        try:
            return ChatCompletion.model_validate_json(hit)
        except pydantic.ValidationError:
            return None

    async def _send(self, request: dict[str, Any], ledger: Ledger | None) -> ChatCompletion:
        """One completion under the run's retry policy (cujeval._util.retry). A judge that refuses
        authorisation, does not know the route or model (404), or stays unreachable after
        the retries ends the run (JudgeUnavailable, exit 3): every later call would fail too.
        Other refusals fail this judgement only (JudgeCallFailed)."""
        import openai

        state = self._state()
        attempts = 0

        async def once() -> ChatCompletion:
            nonlocal attempts
            attempts += 1
            async with state.semaphore:
                self.stats.requests += 1
                completion: ChatCompletion = await state.openai.chat.completions.create(**request)
            self.stats.answered += 1
            return completion

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, openai.APIStatusError):
                return exc.status_code in _RETRY_STATUS or exc.status_code >= 500
            return isinstance(exc, openai.APIConnectionError)

        def retry_after(exc: BaseException) -> float | None:
            if isinstance(exc, openai.APIStatusError):
                return _retry_after(exc.response.headers.get("retry-after"))
            return None

        def failed(exc: BaseException) -> None:
            if isinstance(exc, openai.APIStatusError) and exc.status_code in (401, 403, 404):
                self.stats.failures += 1
                self.stats.failure_reasons["unavailable"] += 1
                what = "refused authorisation" if exc.status_code != 404 else "has no such route"
                raise JudgeUnavailable(
                    f"the judge at {self.shown_url} {what} (HTTP {exc.status_code}, "
                    f"model {self.config.model!r}): {_brief(exc)}"
                )

        try:
            try:
                return await self._policy.run(
                    once,
                    retryable=retryable,
                    retry_after=retry_after,
                    rng=self._rng,
                    on_failure=failed,
                )
            except openai.APITimeoutError:
                tries = attempts
                raise self._failure(
                    failures.TIMEOUT,
                    f"the judge at {self.shown_url} did not answer within "
                    f"judge.timeout_s={self.config.timeout_s:g} s ({tries} attempt"
                    f"{'s' if tries > 1 else ''}); raise judge.timeout_s or lower judge.max_tokens",
                ) from None
            except openai.APIConnectionError as exc:
                self.stats.failures += 1
                self.stats.failure_reasons["unavailable"] += 1
                raise JudgeUnavailable(
                    f"the judge at {self.shown_url} is unreachable after "
                    f"{attempts} attempts: {type(exc).__name__}"
                ) from None
            except openai.APIStatusError as exc:
                tries = attempts
                reason = failures.SERVER_ERROR if retryable(exc) else failures.REFUSED
                raise self._failure(
                    reason,
                    f"judge at {self.shown_url} failed after {tries} attempt"
                    f"{'s' if tries > 1 else ''}: HTTP {exc.status_code}: {_brief(exc)}",
                ) from None
        finally:
            self._retried(attempts, ledger)

    def _retried(self, attempts: int, ledger: Ledger | None) -> None:
        """Attempts after the first are retries (the last failure of a call is not one)."""
        extra = max(0, attempts - 1)
        self.stats.retries += extra
        if ledger is not None:
            ledger.retries += extra

    def _failure(self, reason: str, message: str) -> JudgeCallFailed:
        self.stats.failures += 1
        self.stats.failure_reasons[reason] += 1
        return JudgeCallFailed(message, reason=reason)

    def _state(self) -> _LoopState:
        """SDK client and semaphore of the running loop (both are bound to one loop)."""
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            from openai import AsyncOpenAI

            client = AsyncOpenAI(
                base_url=self.config.base_url,
                api_key=self._api_key(),
                timeout=self.config.timeout_s,
                max_retries=0,
            )
            state = _LoopState(client, asyncio.Semaphore(self.config.max_concurrency))
            self._loops[loop] = state
        return state

    def _api_key(self) -> str:
        name = self.config.api_key_env
        if name is None:
            return _DUMMY_KEY
        key = os.environ.get(name)
        if not key:
            raise RunAborted(f"judge.api_key_env names {name}, which is not set")
        return key

    async def aclose(self) -> None:
        """Close the SDK client of the running loop and the disk cache."""
        loop = asyncio.get_running_loop()
        state = self._loops.pop(loop, None)
        if state is not None:
            await state.openai.close()
        if self._cache is not None:
            self._cache.close()


@dataclass
class JudgeView:
    """What a ragas LLM calls: ``create(**request)`` with this judgement's epoch and ledger.

    At a temperature above zero, the n-th identical request of the judgement gets its own
    cache entry (a metric sampling one prompt several times keeps distinct samples); at zero,
    identical requests share one answer.

    Answers are not cached when they arrive: the LLM calls :meth:`commit` with the completion
    its structured answer was parsed from, and only that one is stored. An answer cut at
    max_tokens, or one instructor could not parse (and re-asked for), never is.
    """

    client: JudgeClient
    epoch: int
    ledger: Ledger
    prompt: str | None = None
    _seen: Counter[str] = field(default_factory=Counter, init=False)
    _pending: list[tuple[ChatCompletion, str, str]] = field(default_factory=list, init=False)

    async def create(self, **request: Any) -> ChatCompletion:
        repeat = 0
        if float(request.get("temperature") or 0.0) > 0.0:
            base = self.client.key(request, epoch=self.epoch, repeat=0, prompt=self.prompt)
            repeat = self._seen[base]
            self._seen[base] += 1
        completion, key, cached = await self.client.fetch(
            request, epoch=self.epoch, repeat=repeat, ledger=self.ledger, prompt=self.prompt
        )
        if not cached:
            # serialised now: instructor rewrites the usage of the object it is handed
            self._pending.append((completion, key, completion.model_dump_json()))
        return completion

    def commit(self, completion: Any) -> bool:
        """Cache ``completion`` (an answer of this view that parsed); False if it is not one
        of this view's pending answers (a cache hit, or already stored)."""
        for i, (pending, key, blob) in enumerate(self._pending):
            if pending is completion:
                del self._pending[i]
                return self.client.store(key, pending, blob)
        return False

    def discard(self) -> int:
        """Forget the answers that never parsed; how many there were."""
        n = len(self._pending)
        self.client.stats.not_stored += n
        self._pending.clear()
        return n


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER_S)


def _brief(exc: Any) -> str:
    body = getattr(exc, "body", None)
    text = json.dumps(body, default=str) if body is not None else str(exc)
    return text[:300]


_shared: dict[str, JudgeClient] = {}


def shared_client(config: JudgeConfig) -> JudgeClient:
    """One client per distinct config in the process, so scorers sharing a judge share its
    concurrency bound and its cache."""
    key = json.dumps(config.model_dump(exclude={"prices"}), sort_keys=True, default=str)
    client = _shared.get(key)
    if client is None:
        client = JudgeClient(config)
        _shared[key] = client
    return client


def shared_stats() -> ClientStats:
    """The totals of every shared client of this process so far (``cujeval score``'s
    progress: calls, cache hits, retries, failures by reason)."""
    total = ClientStats()
    for client in list(_shared.values()):
        stats = client.stats
        total.requests += stats.requests
        total.answered += stats.answered
        total.cache_hits += stats.cache_hits
        total.retries += stats.retries
        total.failures += stats.failures
        total.stored += stats.stored
        total.not_stored += stats.not_stored
        total.failure_reasons.update(stats.failure_reasons)
    return total


def describe_stats(stats: ClientStats) -> str:
    """``judge: 14 calls (3 cached, 1 retried), 1 failed (timeout 1)``."""
    extra = [
        f"{n} {what}" for n, what in ((stats.cache_hits, "cached"), (stats.retries, "retried")) if n
    ]
    text = f"judge: {stats.requests} call{'s' if stats.requests != 1 else ''}"
    if extra:
        text += f" ({', '.join(extra)})"
    text += f", {stats.failures} failed"
    if stats.failure_reasons:
        text += " (" + ", ".join(f"{k} {v}" for k, v in sorted(stats.failure_reasons.items())) + ")"
    return text


async def close_shared() -> None:
    """Close every shared client's SDK client on the running loop, and their caches."""
    for client in list(_shared.values()):
        await client.aclose()
