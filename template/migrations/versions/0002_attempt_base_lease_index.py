"""Retry budget base, and a lease index that acks cannot mistake for a lookup.

`attempts` fences leases, so it must never go back: a consumer from before the
dead-lettering could otherwise ack the event's next claim. The retry budget counts from
`attempt_base`, the attempts made before the latest retry from the dead-letter queue.

`ix_events_lease` covered `status = 'processing'`, the condition every ack, heartbeat and
release also has. With statistics that say almost every event is completed (a table of
history), the planner read that whole index and hashed it for each batch instead of
looking its ids up, and while a long transaction kept vacuum from cleaning the index,
each batch read more of it. The index now covers `lease_expires_at IS NOT NULL` (set
exactly while an event is processing), which only the reaper's condition implies.

Revision ID: 0002_attempt_base_lease_index
Revises: 0001_event_queue
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_attempt_base_lease_index"
down_revision: str | Sequence[str] | None = "0001_event_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "ck_events_attempt_base_valid"


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.add_column(
        "events",
        sa.Column("attempt_base", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    # NOT VALID, then VALIDATE: the check of existing rows does not block the queue.
    op.execute(
        f"ALTER TABLE events ADD CONSTRAINT {CONSTRAINT} "
        "CHECK (attempt_base BETWEEN 0 AND attempts) NOT VALID"
    )
    op.execute(f"ALTER TABLE events VALIDATE CONSTRAINT {CONSTRAINT}")
    # Few rows are processing, so the new index is small and quick to build.
    op.drop_index("ix_events_lease", table_name="events")
    op.create_index(
        "ix_events_lease",
        "events",
        ["lease_expires_at"],
        postgresql_where=sa.text("lease_expires_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_events_lease", table_name="events")
    op.create_index(
        "ix_events_lease",
        "events",
        ["lease_expires_at"],
        postgresql_where=sa.text("status = 'processing'"),
    )
    op.drop_constraint(op.f(CONSTRAINT), "events", type_="check")
    op.drop_column("events", "attempt_base")
