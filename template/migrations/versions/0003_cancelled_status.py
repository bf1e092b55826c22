"""The `cancelled` status: a pending or running event that a client cancelled.

Only the status check changes. The new constraint is added NOT VALID and then validated,
so the check of existing rows does not block the queue. A downgrade makes the cancelled
events `completed` (the final status the older code knows: they must never run), their
last error saying they were cancelled.

Revision ID: 0003_cancelled_status
Revises: 0002_attempt_base_lease_index
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_cancelled_status"
down_revision: str | Sequence[str] | None = "0002_attempt_base_lease_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "ck_events_status_valid"


def _replace_status_check(statuses: str) -> None:
    op.drop_constraint(op.f(CONSTRAINT), "events", type_="check")
    op.execute(
        f"ALTER TABLE events ADD CONSTRAINT {CONSTRAINT} CHECK (status IN ({statuses})) NOT VALID"
    )
    op.execute(f"ALTER TABLE events VALIDATE CONSTRAINT {CONSTRAINT}")


def upgrade() -> None:
    _replace_status_check("'pending', 'processing', 'completed', 'dead', 'cancelled'")


def downgrade() -> None:
    op.execute(
        "UPDATE events SET status = 'completed', "
        "last_error = coalesce(last_error || '; ', '') || 'cancelled' "
        "WHERE status = 'cancelled'"
    )
    _replace_status_check("'pending', 'processing', 'completed', 'dead'")
