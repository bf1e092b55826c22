"""Reply frames, kept so that a client can resume an event's reply after a drop.

Each frame of an event's reply is stored under its number (`seq`, 1, 2, 3... per event,
on across attempts) as the JSON text the client receives, in the statement that also
notifies it. The primary key fences the numbering: two processes that number a frame of
the same event alike cannot both store it. Retention deletes by `created_at` (a tiny BRIN
index: rows arrive in time order).

Revision ID: 0004_reply_frames
Revises: 0003_cancelled_status
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_reply_frames"
down_revision: str | Sequence[str] | None = "0003_cancelled_status"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reply_frames",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("frame", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("seq > 0", name=op.f("ck_reply_frames_seq_positive")),
        sa.PrimaryKeyConstraint("event_id", "seq", name=op.f("pk_reply_frames")),
        comment="Numbered reply frames of each event, for clients that resume",
    )
    op.create_index(
        "ix_reply_frames_created_at", "reply_frames", ["created_at"], postgresql_using="brin"
    )


def downgrade() -> None:
    op.drop_table("reply_frames")
