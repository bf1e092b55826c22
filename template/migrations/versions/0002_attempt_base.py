"""Retry budget base: retrying a dead letter no longer resets the attempt count.

`attempts` fences leases, so it must never go back: a consumer from before the
dead-lettering could otherwise ack the event's next claim. The retry budget counts from
`attempt_base`, the attempts made before the latest retry from the dead-letter queue.

Revision ID: 0002_attempt_base
Revises: 0001_event_queue
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_attempt_base"
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


def downgrade() -> None:
    op.drop_constraint(op.f(CONSTRAINT), "events", type_="check")
    op.drop_column("events", "attempt_base")
