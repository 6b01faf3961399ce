"""Join the three branches that revised 0001 (metering, reporting, reconciliation) into one head.

Databases created before this revision have all three applied; new ones apply them in any order. From
here on every revision has exactly one parent, so `alembic revision --autogenerate` works again.

Revision ID: 0007_single_head
Revises: 0002_metering, 0005_reporting, 0006_reconciliation
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

revision: str = "0007_single_head"
down_revision: str | Sequence[str] | None = ("0002_metering", "0005_reporting", "0006_reconciliation")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
