"""Run checkpoints: a retried agent run resumes after its last completed step.

An agent run that calls tools is kept in `run_checkpoints` as it goes: after each model
response that calls tools, the run's messages so far (one write, not flushed at commit);
around each call of a side-effecting tool, a check before it runs and its result after (two
writes, flushed). A retried event (its process died, its lease expired, the model failed)
resumes from there: the model is not asked again for a response it gave, and a
side-effecting call whose result was recorded is not made again (`worker/checkpoints.py`).

Writes are fenced by the attempt number, which grows with every claim of the event: a new
attempt takes the row over when it starts, and from then on a stale attempt (one whose
lease expired while it kept running) can write nothing, nor start a side-effecting call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from pydantic import JsonValue, TypeAdapter, ValidationError
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter

from {{ package_name }}.core.storable import sanitize
from {{ package_name }}.errors import StaleLeaseError
from {{ package_name }}.infra.database import Database
from {{ package_name }}.infra.history import encode_messages
from {{ package_name }}.infra.sql import query

logger = logging.getLogger(__name__)

_json = TypeAdapter[JsonValue](JsonValue)


@dataclass(frozen=True, slots=True)
class Recorded:
    """The result a side-effecting call returned in an earlier attempt."""

    result: JsonValue


class Checkpoints:
    """The checkpoints of agent runs, in PostgreSQL (whichever backend queues the events)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def resume(self, event_id: UUID, attempt: int) -> list[ModelMessage]:
        """Fence the event's earlier attempts out and return the messages its run got to
        (none: start over). A checkpoint this version can no longer read is started over."""
        async with self.database.driver_connection() as connection:
            row = await connection.fetchrow(query("resume_run_checkpoint"), event_id, attempt)
        if row is None:
            raise StaleLeaseError(f"attempt {attempt} of event {event_id} is not the newest")
        try:
            return ModelMessagesTypeAdapter.validate_json(row["messages"])
        except ValidationError:
            logger.warning(
                "an unreadable run checkpoint was ignored; the run starts over",
                extra={"event_id": str(event_id)},
            )
            return []

    async def save(self, event_id: UUID, attempt: int, messages: Sequence[ModelMessage]) -> None:
        """Keep the run's messages so far; `StaleLeaseError` if a newer attempt took over."""
        document = _json.dump_json(encode_messages(messages)).decode()
        async with self.database.driver_connection() as connection:
            saved = await connection.fetchval(
                query("save_run_messages"), event_id, attempt, document
            )
        if saved is None:
            raise StaleLeaseError(f"checkpoint of event {event_id} attempt {attempt} refused")

    async def start_call(self, event_id: UUID, attempt: int, call_id: str) -> Recorded | None:
        """Before a side-effecting call: its recorded result, if an earlier attempt made it;
        `StaleLeaseError` if a newer attempt took over (the call must not be made)."""
        async with self.database.driver_connection() as connection:
            row = await connection.fetchrow(query("start_tool_call"), event_id, attempt, call_id)
        if row is None:
            raise StaleLeaseError(f"call {call_id} of event {event_id} attempt {attempt} refused")
        document: str | None = row[0]
        if document is None:
            return None
        recorded = _json.validate_json(document)
        return Recorded(recorded["result"] if isinstance(recorded, dict) else None)

    async def record_call(
        self, event_id: UUID, attempt: int, call_id: str, result: JsonValue
    ) -> None:
        """Keep a side-effecting call's result before the run moves on."""
        document = _json.dump_json({"result": sanitize(result)}).decode()
        async with self.database.driver_connection() as connection:
            recorded = await connection.fetchval(
                query("record_tool_call"), event_id, attempt, call_id, document
            )
        if recorded is None:
            raise StaleLeaseError(f"result of call {call_id} of event {event_id} refused")

    async def purge(self, older_than: timedelta) -> int:
        """Retention: delete checkpoints not written for `older_than`; how many."""
        async with self.database.driver_connection() as connection:
            status: str = await connection.execute(
                query("purge_run_checkpoints"), older_than.total_seconds()
            )
        return int(status.split()[-1])
