"""Plan changes: when Stripe will end a subscription (`cancel_at`), and the prices each subscription item
has had (`subscription_item_prices`, read by the usage reporter after a price swap).

Existing items get one row: their price now, since the item began.

Revision ID: 0010_plan_changes
Revises: 0009_login_throttles
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_plan_changes"
down_revision: str | Sequence[str] | None = "0009_login_throttles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("cancel_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "subscription_item_prices",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("subscription_item_id", sa.String(length=40), nullable=False),
        sa.Column("price_id", sa.String(length=255), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_item_id"],
            ["subscription_items.id"],
            name=op.f("fk_subscription_item_prices_subscription_item_id_subscription_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_item_prices")),
    )
    with op.batch_alter_table("subscription_item_prices") as batch:
        batch.create_index(
            batch.f("ix_subscription_item_prices_subscription_item_id"),
            ["subscription_item_id"],
            unique=False,
        )
    op.execute(
        "INSERT INTO subscription_item_prices (id, subscription_item_id, price_id, since, until, created_at) "
        "SELECT 'sip_' || id, id, price_id, NULL, NULL, created_at FROM subscription_items"
    )


def downgrade() -> None:
    with op.batch_alter_table("subscription_item_prices") as batch:
        batch.drop_index(batch.f("ix_subscription_item_prices_subscription_item_id"))
    op.drop_table("subscription_item_prices")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("cancel_at")
