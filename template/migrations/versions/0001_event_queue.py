"""Event queue, event history and conversation history.

Revision ID: 0001_event_queue
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_event_queue"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "available_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("conversation_key", sa.Text(), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'dead')",
            name=op.f("ck_events_status_valid"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_events_attempts_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        comment="Event queue and event history",
    )
    op.create_index(
        "ix_events_claim",
        "events",
        ["available_at", "seq"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_events_lease",
        "events",
        ["lease_expires_at"],
        postgresql_where=sa.text("status = 'processing'"),
    )
    op.create_index(
        "ix_events_conversation",
        "events",
        ["conversation_key", "seq"],
        postgresql_where=sa.text(
            "conversation_key IS NOT NULL AND status IN ('pending', 'processing')"
        ),
    )
    op.create_index(
        "ix_events_conversation_history",
        "events",
        ["conversation_key", "seq"],
        postgresql_where=sa.text("conversation_key IS NOT NULL"),
    )
    op.create_index(
        "uq_events_idempotency_key",
        "events",
        ["idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index(
        "ix_events_dead", "events", ["updated_at"], postgresql_where=sa.text("status = 'dead'")
    )
    op.create_index("ix_events_seq", "events", ["seq"])
    op.create_index("ix_events_created_at", "events", ["created_at"], postgresql_using="brin")

    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("conversation_key", sa.Text(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("messages", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
        comment="Agent message history per conversation",
    )
    op.create_index(
        "ix_conversation_messages_key", "conversation_messages", ["conversation_key", "id"]
    )
    op.create_index(
        "uq_conversation_messages_event_id", "conversation_messages", ["event_id"], unique=True
    )


def downgrade() -> None:
    op.drop_table("conversation_messages")
    op.drop_table("events")
