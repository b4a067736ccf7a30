"""Micro-batching of question embeddings: requests that arrive while a batch is being encoded
share the next batch, so concurrent requests cost one model call instead of one each.

One MiniLM call on 8 short questions takes about a third of the time of 8 single calls on 2
cores; the encoding runs in a worker thread so the event loop stays free.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

Row = TypeVar("Row")


class BatchEncoder(Generic[Row]):
    """``await encoder.embed(text)`` -> one row of ``encode_batch([... text ...])``."""

    def __init__(self, encode_batch: Callable[[list[str]], Iterable[Row]], max_batch: int = 32):
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self._encode_batch = encode_batch
        self._max_batch = max_batch
        self._pending: list[tuple[str, asyncio.Future[Row]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def embed(self, text: str) -> Row:
        future: asyncio.Future[Row] = asyncio.get_running_loop().create_future()
        self._pending.append((text, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                rows = await asyncio.to_thread(self._encode_batch, [text for text, _ in batch])
            except Exception as exc:  # every waiter of a failed batch gets the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), row in zip(batch, rows, strict=True):
                if not future.done():
                    future.set_result(row)
