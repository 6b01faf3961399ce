"""Metering: collector tokens, usage events, meters, hourly rollups, collector user/company mappings.

Revision ID: 0002_metering
Revises: 0001_initial
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_metering"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "collector_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_user_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_collector_tokens_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collector_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_collector_tokens_token_hash")),
    )
    op.create_table(
        "usage_events",
        sa.Column("id", EVENT_ID, autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("attributed_by", sa.String(length=16), nullable=True),
        sa.Column("api_key_id", sa.String(length=40), nullable=True),
        sa.Column("external_user_id", sa.String(length=255), nullable=True),
        sa.Column("company_id", sa.String(length=255), nullable=True),
        sa.Column("session_key", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_usage_events_dedupe_key")),
    )
    op.create_index(op.f("ix_usage_events_occurred_at"), "usage_events", ["occurred_at"], unique=False)
    op.create_table(
        "meters",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("stripe_product_id", sa.String(length=255), nullable=False),
        sa.Column("stripe_price_id", sa.String(length=255), nullable=False),
        sa.Column("price_nickname", sa.String(length=255), nullable=True),
        sa.Column("price_currency", sa.String(length=3), nullable=True),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("charge_by", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rebuilt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rebuilt_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meters")),
    )
    op.create_index(op.f("ix_meters_stripe_price_id"), "meters", ["stripe_price_id"], unique=False)
    op.create_table(
        "usage_rollups",
        sa.Column("meter_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("value_milli", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_usage_rollups_meter_id_meters"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("meter_id", "user_id", "hour", name=op.f("pk_usage_rollups")),
    )
    op.create_table(
        "usage_rollup_values",
        sa.Column("meter_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meters.id"],
            name=op.f("fk_usage_rollup_values_meter_id_meters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meter_id", "user_id", "hour", "value", name=op.f("pk_usage_rollup_values")),
    )
    op.create_table(
        "collector_users",
        sa.Column("external_user_id", sa.String(length=255), nullable=False),
        sa.Column("portal_user_id", sa.String(length=40), nullable=True),
        sa.Column("company_id", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("metadata_json", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("external_user_id", name=op.f("pk_collector_users")),
    )
    op.create_index("ix_collector_users_email", "collector_users", ["email"], unique=False)
    op.create_table(
        "collector_companies",
        sa.Column("company_id", sa.String(length=255), nullable=False),
        sa.Column("portal_user_id", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("metadata_json", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("company_id", name=op.f("pk_collector_companies")),
    )
    op.create_index("ix_collector_companies_email", "collector_companies", ["email"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_collector_companies_email", table_name="collector_companies")
    op.drop_table("collector_companies")
    op.drop_index("ix_collector_users_email", table_name="collector_users")
    op.drop_table("collector_users")
    op.drop_table("usage_rollup_values")
    op.drop_table("usage_rollups")
    op.drop_index(op.f("ix_meters_stripe_price_id"), table_name="meters")
    op.drop_table("meters")
    op.drop_index(op.f("ix_usage_events_occurred_at"), table_name="usage_events")
    op.drop_table("usage_events")
    op.drop_table("collector_tokens")
