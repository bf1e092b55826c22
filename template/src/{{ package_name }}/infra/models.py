"""SQLAlchemy models: the tables. Alembic migrations (in `migrations/`) create and change them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

EVENT_STATUSES = (
    "pending",
    "processing",
    "completed",
    "dead",
    "cancelled",
    "awaiting_approval",
)
APPROVAL_STATUSES = ("pending", "approved", "denied", "expired")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EventRecord(Base):
    """One event: the queue entry while it waits or runs, then its history.

    Status moves pending -> processing -> completed, back to pending on a retry, or to dead
    when dead-lettered; a pending or processing event can be cancelled, for good. A run
    that asks for a tool call's approval leaves its event awaiting_approval (out of the
    queue) until the decisions resume it in another event; it is completed then. Claiming
    reads only the partial index of pending rows, so completed rows can pile up without
    slowing it down.
    """

    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    type: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Attempts made before the latest retry from the dead-letter queue. `attempts` is the
    # lease's fencing token and never goes back; the retry budget counts from here.
    attempt_base: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    available_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    lease_owner: Mapped[str | None] = mapped_column(Text)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    conversation_key: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Every status change rewrites the row and touches every index whose columns or
    # predicate it changes, so the indexes are few and mostly partial: a row sits in the
    # claim index only while pending, in the lease index only while processing.
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'dead', 'cancelled', "
            "'awaiting_approval')",
            name="status_valid",
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("attempt_base BETWEEN 0 AND attempts", name="attempt_base_valid"),
        # The claim query walks this index in order.
        Index(
            "ix_events_claim",
            "available_at",
            "seq",
            postgresql_where=text("status = 'pending'"),
        ),
        # Reaping expired leases.
        Index(
            "ix_events_lease",
            "lease_expires_at",
            # Not `status = 'processing'`: acks, heartbeats and releases say that too, and
            # with statistics of a table of history the planner would read this whole
            # index for each of them instead of looking their ids up.
            postgresql_where=text("lease_expires_at IS NOT NULL"),
        ),
        # Per-conversation ordering looks for an earlier unfinished event with the same key.
        Index(
            "ix_events_conversation",
            "conversation_key",
            "seq",
            postgresql_where=text(
                "conversation_key IS NOT NULL AND status IN ('pending', 'processing')"
            ),
        ),
        # A conversation's history (agent tools, the API).
        Index(
            "ix_events_conversation_history",
            "conversation_key",
            "seq",
            postgresql_where=text("conversation_key IS NOT NULL"),
        ),
        Index(
            "uq_events_idempotency_key",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("ix_events_dead", "updated_at", postgresql_where=text("status = 'dead'")),
        # History, replay and retention page through seq; time ranges use a tiny BRIN index
        # (rows arrive in time order).
        Index("ix_events_seq", "seq"),
        Index("ix_events_created_at", "created_at", postgresql_using="brin"),
        {"comment": "Event queue and event history"},
    )


class ConversationMessageRecord(Base):
    """Agent message history, one row per agent run, per conversation key."""

    __tablename__ = "conversation_messages"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    conversation_key: Mapped[str] = mapped_column(Text)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    messages: Mapped[list[Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_conversation_messages_key", "conversation_key", "id"),
        Index("uq_conversation_messages_event_id", "event_id", unique=True),
        {"comment": "Agent message history per conversation"},
    )


class ReplyFrameRecord(Base):
    """One numbered frame of an event's reply, as the client receives it (JSON text), kept
    for `REPLY_RETENTION_HOURS` so that a client can resume after a drop."""

    __tablename__ = "reply_frames"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    frame: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("seq > 0", name="seq_positive"),
        Index("ix_reply_frames_created_at", "created_at", postgresql_using="brin"),
        {"comment": "Numbered reply frames of each event, for clients that resume"},
    )


class PausedRunRecord(Base):
    """An agent run that stopped for approvals: its messages (the last one asks for the tool
    calls), until the decisions resume it in a new event (`resumed_by`)."""

    __tablename__ = "paused_runs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    conversation_key: Mapped[str | None] = mapped_column(Text)
    messages: Mapped[list[Any]] = mapped_column(JSONB)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resumed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("uq_paused_runs_event_id", "event_id", unique=True),
        # The expiry sweep and the resumption check look at the runs not resumed yet.
        Index("ix_paused_runs_waiting", "expires_at", postgresql_where=text("resumed_by IS NULL")),
        {"comment": "Agent runs paused for tool-call approvals"},
    )


class ApprovalRecord(Base):
    """One tool call of a paused run awaiting a human decision, then the decision."""

    __tablename__ = "approvals"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("paused_runs.id", ondelete="CASCADE")
    )
    tool_call_id: Mapped[str] = mapped_column(Text)
    tool_name: Mapped[str] = mapped_column(Text)
    args: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    override_args: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'denied', 'expired')", name="status_valid"
        ),
        Index("ix_approvals_run_id", "run_id"),
        Index("ix_approvals_pending", "created_at", postgresql_where=text("status = 'pending'")),
        {"comment": "Tool calls awaiting a human decision, and the decisions"},
    )


class RunCheckpointRecord(Base):
    """How far an event's agent run got: its messages up to the last model response that
    called tools, and the results of its side-effecting calls. The attempt fences it: only
    the newest attempt of the event writes."""

    __tablename__ = "run_checkpoints"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer)
    messages: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    tool_results: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    reply_seq: Mapped[int | None] = mapped_column(Integer)
    """The last reply frame sent before the checkpoint: those up to it stand."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_run_checkpoints_updated_at", "updated_at"),
        {"comment": "Agent runs' completed steps, to resume a retried run where it stopped"},
    )


class RateLimitCountRecord(Base):
    """The requests admitted for one limited key (a caller, a conversation) in one minute,
    counted in the database so that the limit holds across replicas."""

    __tablename__ = "rate_limit_counts"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_rate_limit_counts_window_start", "window_start"),
        {"comment": "Requests admitted per limited key and minute, shared by every replica"},
    )


class ConversationUsageRecord(Base):
    """The model tokens a conversation's agent runs spent on one day (UTC)."""

    __tablename__ = "conversation_usage"

    conversation_key: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tokens: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_conversation_usage_day", "day"),
        {"comment": "Model tokens spent per conversation and day (UTC)"},
    )
