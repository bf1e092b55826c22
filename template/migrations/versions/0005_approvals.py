"""Tool-call approvals: the `awaiting_approval` status, paused runs and their approvals.

An agent run that asks for a human's approval of a tool call keeps its messages in
`paused_runs` and one `approvals` row per call; its event leaves the queue as
`awaiting_approval` until the decisions resume the run in a new event. The status check is
replaced as in `0003` (NOT VALID, then validated). A downgrade makes the events still
awaiting approval `completed`, their last error saying so (the paused runs are dropped
with their tables: the older code cannot resume them).

Revision ID: 0005_approvals
Revises: 0004_reply_frames
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_approvals"
down_revision: str | Sequence[str] | None = "0004_reply_frames"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "ck_events_status_valid"
STATUSES = "'pending', 'processing', 'completed', 'dead', 'cancelled'"


def _replace_status_check(statuses: str) -> None:
    op.drop_constraint(op.f(CONSTRAINT), "events", type_="check")
    op.execute(
        f"ALTER TABLE events ADD CONSTRAINT {CONSTRAINT} CHECK (status IN ({statuses})) NOT VALID"
    )
    op.execute(f"ALTER TABLE events VALIDATE CONSTRAINT {CONSTRAINT}")


def upgrade() -> None:
    _replace_status_check(f"{STATUSES}, 'awaiting_approval'")
    op.create_table(
        "paused_runs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("conversation_key", sa.Text(), nullable=True),
        sa.Column("messages", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paused_runs")),
        comment="Agent runs paused for tool-call approvals",
    )
    op.create_index("uq_paused_runs_event_id", "paused_runs", ["event_id"], unique=True)
    op.create_index(
        "ix_paused_runs_waiting",
        "paused_runs",
        ["expires_at"],
        postgresql_where=sa.text("resumed_by IS NULL"),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("tool_call_id", sa.Text(), nullable=False),
        sa.Column("tool_name", sa.Text(), nullable=False),
        sa.Column("args", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("override_args", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'denied', 'expired')",
            name=op.f("ck_approvals_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["paused_runs.id"],
            name=op.f("fk_approvals_run_id_paused_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        comment="Tool calls awaiting a human decision, and the decisions",
    )
    op.create_index("ix_approvals_run_id", "approvals", ["run_id"])
    op.create_index(
        "ix_approvals_pending",
        "approvals",
        ["created_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("approvals")
    op.drop_table("paused_runs")
    op.execute(
        "UPDATE events SET status = 'completed', completed_at = coalesce(completed_at, now()), "
        "last_error = coalesce(last_error || '; ', '') || 'awaiting approval when downgraded' "
        "WHERE status = 'awaiting_approval'"
    )
    _replace_status_check(STATUSES)
