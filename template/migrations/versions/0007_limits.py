"""Limits: request counts per minute, and the tokens each conversation spent per day.

`rate_limit_counts` holds one row per limited key (a caller, a conversation) and minute:
the requests admitted in it, so that every replica counts against the same limit.
`conversation_usage` holds the model tokens a conversation's runs spent on each day (UTC).
Retention deletes both when they are old. Dropping them on a downgrade resets the counts.

Revision ID: 0007_limits
Revises: 0006_run_checkpoints
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_limits"
down_revision: str | Sequence[str] | None = "0006_run_checkpoints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counts",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_limit_counts")),
        comment="Requests admitted per limited key and minute, shared by every replica",
    )
    op.create_index("ix_rate_limit_counts_window_start", "rate_limit_counts", ["window_start"])
    op.create_table(
        "conversation_usage",
        sa.Column("conversation_key", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_key", "day", name=op.f("pk_conversation_usage")),
        comment="Model tokens spent per conversation and day (UTC)",
    )
    op.create_index("ix_conversation_usage_day", "conversation_usage", ["day"])


def downgrade() -> None:
    op.drop_table("conversation_usage")
    op.drop_table("rate_limit_counts")
