"""The events this process runs, so that a cancellation can stop the one it names.

A cancellation arrives as an event id (`EventStore.on_cancel`, from whichever process
cancelled it). `stop()` cancels the task running that event; a cancellation that arrives
just before its event's task starts (claimed, not yet handed to a worker) is remembered
for a while, and the task is stopped as it starts. The lease heartbeat is the fallback
for a cancellation whose notice was missed (the channel was reconnecting): the lost
lease's event is looked up, and stopped if it was cancelled.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from uuid import UUID

RECENT = 1000
"""Cancellations of events not running here that are remembered."""


class RunningEvents:
    def __init__(self) -> None:
        self._tasks: dict[UUID, asyncio.Task[None]] = {}
        self._stopping: set[UUID] = set()
        self._recent: OrderedDict[UUID, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._tasks

    def track(self, event_id: UUID, task: asyncio.Task[None]) -> None:
        """`task` runs `event_id` (stopped at once if it was just cancelled)."""
        self._tasks[event_id] = task
        if event_id in self._recent:
            del self._recent[event_id]
            self.stop(event_id)

    def untrack(self, event_id: UUID) -> None:
        self._tasks.pop(event_id, None)
        self._stopping.discard(event_id)

    def stop(self, event_id: UUID) -> None:
        """Cancel the task running `event_id`, or remember the id for a while."""
        task = self._tasks.get(event_id)
        if task is None:
            self._recent[event_id] = None
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
            return
        if event_id not in self._stopping:
            self._stopping.add(event_id)
            task.cancel()

    def stopping(self, event_id: UUID) -> bool:
        """Whether `event_id`'s task is cancelled because the event was (not a shutdown)."""
        return event_id in self._stopping
