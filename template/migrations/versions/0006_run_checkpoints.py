"""Run checkpoints: a retried agent run resumes after its last completed step.

One row per event whose run called tools: its messages up to the last model response that
called them, the number of the last reply frame sent by then, and the recorded results of
its side-effecting calls, fenced by the attempt that wrote them. Retention deletes rows
not written for a while (`updated_at`). Dropping the table on a downgrade only costs
in-flight runs their resumption: a retry starts over.

Revision ID: 0006_run_checkpoints
Revises: 0005_approvals
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_run_checkpoints"
down_revision: str | Sequence[str] | None = "0005_approvals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_checkpoints",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column(
            "messages",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "tool_results",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("reply_seq", sa.Integer(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_run_checkpoints")),
        comment="Agent runs' completed steps, to resume a retried run where it stopped",
    )
    op.create_index("ix_run_checkpoints_updated_at", "run_checkpoints", ["updated_at"])


def downgrade() -> None:
    op.drop_table("run_checkpoints")
