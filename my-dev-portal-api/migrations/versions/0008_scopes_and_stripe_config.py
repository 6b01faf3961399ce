"""Admin token scopes; the billing provider row as the one Stripe configuration (webhook secret rotation).

Tokens made before scopes existed get `verify ingest`: enough for the gateway they were most likely made
for, and nothing that changes the portal's configuration (grant `admin` again in the console). Rows saved
in the console before this revision count as console-saved (`database`).

Revision ID: 0008_scopes_and_stripe_config
Revises: 0007_single_head
Create Date: 2026-12-01 21:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_scopes_and_stripe_config"
down_revision: str | Sequence[str] | None = "0007_single_head"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("admin_tokens") as batch:
        batch.add_column(
            sa.Column("scopes", sa.String(length=64), nullable=False, server_default="verify ingest")
        )
    with op.batch_alter_table("billing_provider_settings") as batch:
        batch.add_column(sa.Column("previous_webhook_secret_encrypted", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("previous_webhook_secret_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("source", sa.String(length=16), nullable=False, server_default="database"))
        batch.add_column(sa.Column("environment_fingerprint", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("billing_provider_settings") as batch:
        batch.drop_column("environment_fingerprint")
        batch.drop_column("source")
        batch.drop_column("previous_webhook_secret_expires_at")
        batch.drop_column("previous_webhook_secret_encrypted")
    with op.batch_alter_table("admin_tokens") as batch:
        batch.drop_column("scopes")
