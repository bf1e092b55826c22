"""Signals to this process's consumers: wake-ups for idle subscriptions, and the ids of
running events that were cancelled (in any process) for the agent loop to stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from uuid import UUID

logger = logging.getLogger(__name__)


class Waker:
    """A set of asyncio events, all set by `wake()`."""

    def __init__(self) -> None:
        self._events: set[asyncio.Event] = set()

    def register(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events.add(event)
        return event

    def unregister(self, event: asyncio.Event) -> None:
        self._events.discard(event)

    def wake(self) -> None:
        for event in self._events:
            event.set()


class Cancellations:
    """Callbacks told the id of each running event that was cancelled. A backend calls
    `cancelled()` for its own cancels and for the ones its channel reports from other
    processes; a callback ignores the ids of events it does not run."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[UUID], None]] = []

    def subscribe(self, callback: Callable[[UUID], None]) -> Callable[[], None]:
        """Call `callback(event_id)` for each cancellation; the returned function stops it."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def cancelled(self, event_id: UUID) -> None:
        for callback in list(self._callbacks):
            try:
                callback(event_id)
            except Exception:
                logger.exception("cancellation callback failed", extra={"event_id": str(event_id)})

    def notified(self, payload: str) -> None:
        """A cancellation as a channel carries it: the event id, as text."""
        try:
            event_id = UUID(payload)
        except ValueError:
            logger.warning("ignoring a malformed cancellation notice")
            return
        self.cancelled(event_id)
