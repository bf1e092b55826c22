"""Wake-ups for idle subscriptions: one signal fans out to every waiting consumer."""

from __future__ import annotations

import asyncio


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
