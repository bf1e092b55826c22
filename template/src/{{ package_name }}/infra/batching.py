"""Group commit: concurrent callers' small writes share one statement and one commit.

Each caller still waits for its own write to be committed; nothing is acknowledged early.
An idle batcher flushes at once (no waiting), so batching adds no latency at low load and
grows batches by itself under high load, while a flush is in flight.

One caller's bad item must not fail its neighbours: when a batch fails with an error that
one row can cause (`isolate`), each half is written on its own, down to the items at
fault, which alone get the error. Callers validate what they submit, so this costs
nothing in the normal case; it is the guard for what validation did not foresee.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]
Errors = tuple[type[BaseException], ...]


async def isolating(
    items: Sequence[T], flush: Flush[T, R], isolate: Errors
) -> Sequence[R | BaseException]:
    """`flush(items)`; when it fails with one of `isolate`, each half is flushed on its own,
    recursively, so that the error reaches only the items that cause it. `flush` must be
    atomic (all or nothing), as one statement is."""
    try:
        return await flush(items)
    except isolate as exc:
        if len(items) == 1:
            return [exc]
        middle = len(items) // 2
        logger.debug("a batch of %d failed (%r); writing its halves apart", len(items), exc)
        return [
            *await isolating(items[:middle], flush, isolate),
            *await isolating(items[middle:], flush, isolate),
        ]


class GroupCommitter(Generic[T, R]):
    """Queue items; `flush` writes a batch and returns one result (or exception) per item.

    A batch that fails with one of `isolate` is narrowed down to the items at fault.
    """

    def __init__(
        self,
        flush: Flush[T, R],
        *,
        max_batch: int = 500,
        max_flushes: int = 2,
        isolate: Errors = (),
    ) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._max_flushes = max_flushes
        self._isolate = isolate
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._flushers: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        # A finished flusher is gone at once, not when its done-callback runs later on.
        if sum(not flusher.done() for flusher in self._flushers) < self._max_flushes:
            task = asyncio.create_task(self._drain())
            self._flushers.add(task)
            task.add_done_callback(self._flushers.discard)
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            items = [item for item, _ in batch]
            try:
                results = await isolating(items, self._flush, self._isolate)
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def aclose(self) -> None:
        """Wait for queued writes to finish."""
        while self._flushers:
            await asyncio.gather(*self._flushers, return_exceptions=True)
