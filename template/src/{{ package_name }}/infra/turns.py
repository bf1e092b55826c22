"""A conversation's turns: what a client's message does while one is pending or running.

`EventStore.publish_turn()` (`store.py`) applies the policy. An interrupting message
cancels the running turn, then waits (INTERRUPT_WAIT at most) until the stopped turn's
partial reply is in the conversation history, where the next turn's model sees it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Literal, Protocol
from uuid import UUID

ConversationPolicy = Literal["enqueue", "interrupt", "reject"]
"""What a client's message does while its conversation has a turn pending or running."""
INTERRUPT_WAIT = 2.0
"""Seconds an interrupting message waits for the stopped turn to keep its partial reply."""


class SavedRuns(Protocol):
    """Which events' runs are kept in the conversation history (`infra/history.py`)."""

    async def saved(self, event_ids: Collection[UUID]) -> set[UUID]: ...


async def until_saved(runs: SavedRuns, event_ids: set[UUID], *, poll: float = 0.02) -> None:
    """Poll `runs` until every one of `event_ids` is saved, for INTERRUPT_WAIT at most."""
    for _ in range(int(INTERRUPT_WAIT / poll)):
        if event_ids <= await runs.saved(event_ids):
            return
        await asyncio.sleep(poll)
