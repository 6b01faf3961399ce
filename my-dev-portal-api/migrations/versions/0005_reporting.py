"""Reporting: usage report ledger, reported hours, report runs; billing provider settings.

Revision ID: 0005_reporting
Revises: 0001_initial
Create Date: 2026-11-25 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_reporting"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEDGER_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "billing_provider_settings",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("secret_key_encrypted", sa.Text(), nullable=True),
        sa.Column("secret_key_last4", sa.String(length=4), nullable=True),
        sa.Column("publishable_key", sa.String(length=255), nullable=True),
        sa.Column("api_version", sa.String(length=64), nullable=False),
        sa.Column("webhook_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_provider_settings")),
    )
    op.create_table(
        "usage_reports",
        sa.Column("id", LEDGER_ID, autoincrement=True, nullable=False),
        sa.Column("subscription_item_id", sa.String(length=255), nullable=False),
        sa.Column("meter_id", sa.String(length=40), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=False),
        sa.Column("stripe_subscription_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column("target_milli", sa.BigInteger(), nullable=False),
        sa.Column("value_milli", sa.BigInteger(), nullable=False),
        sa.Column("report_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("carried", sa.Boolean(), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stripe_object_id", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_reports")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_usage_reports_idempotency_key")),
        sa.UniqueConstraint("subscription_item_id", "meter_id", "hour", "revision", name="uq_usage_reports_key"),
    )
    op.create_index("ix_usage_reports_status", "usage_reports", ["status"], unique=False)
    op.create_index("ix_usage_reports_item_hour", "usage_reports", ["subscription_item_id", "hour"], unique=False)
    op.create_index(op.f("ix_usage_reports_user_id"), "usage_reports", ["user_id"], unique=False)
    op.create_table(
        "usage_reported_hours",
        sa.Column("subscription_item_id", sa.String(length=255), nullable=False),
        sa.Column("meter_id", sa.String(length=40), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("value_milli", sa.BigInteger(), nullable=False),
        sa.Column("target_milli", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subscription_item_id", "meter_id", "hour", name=op.f("pk_usage_reported_hours")),
    )
    op.create_table(
        "usage_report_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("api_version", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("range_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("range_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned", sa.Integer(), nullable=False),
        sa.Column("corrections", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("lag_seconds", sa.Integer(), nullable=True),
        sa.Column("oldest_unreported_hour", sa.DateTime(timezone=True), nullable=True),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_report_runs")),
    )
    op.create_index(op.f("ix_usage_report_runs_status"), "usage_report_runs", ["status"], unique=False)
    op.create_index(op.f("ix_usage_report_runs_started_at"), "usage_report_runs", ["started_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_usage_report_runs_started_at"), table_name="usage_report_runs")
    op.drop_index(op.f("ix_usage_report_runs_status"), table_name="usage_report_runs")
    op.drop_table("usage_report_runs")
    op.drop_table("usage_reported_hours")
    op.drop_index(op.f("ix_usage_reports_user_id"), table_name="usage_reports")
    op.drop_index("ix_usage_reports_item_hour", table_name="usage_reports")
    op.drop_index("ix_usage_reports_status", table_name="usage_reports")
    op.drop_table("usage_reports")
    op.drop_table("billing_provider_settings")
