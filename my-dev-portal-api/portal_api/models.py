"""Imports every table so Base.metadata is complete (for Alembic and tests)."""

from portal_api.accounts.models import AuthSession, LoginThrottle, User
from portal_api.admin.models import AdminToken
from portal_api.billing.models import Customer, Subscription, SubscriptionItem, SubscriptionItemPrice
from portal_api.billing_provider.models import BillingProviderConfig
from portal_api.checkout.models import ProvisionedCheckout
from portal_api.db import Base
from portal_api.keys.models import ApiKey
from portal_api.metering.models import (
    CollectorCompany,
    CollectorToken,
    CollectorUser,
    Meter,
    UsageEvent,
    UsageRollup,
    UsageRollupValue,
)
from portal_api.reconciliation.models import ReconciliationRun
from portal_api.reporting.models import ReportedHour, ReportRun, UsageReport
from portal_api.webhooks.models import WebhookEvent

__all__ = [
    "AdminToken",
    "ApiKey",
    "AuthSession",
    "Base",
    "BillingProviderConfig",
    "CollectorCompany",
    "CollectorToken",
    "CollectorUser",
    "Customer",
    "LoginThrottle",
    "Meter",
    "ProvisionedCheckout",
    "ReconciliationRun",
    "ReportRun",
    "ReportedHour",
    "Subscription",
    "SubscriptionItem",
    "SubscriptionItemPrice",
    "UsageEvent",
    "UsageReport",
    "UsageRollup",
    "UsageRollupValue",
    "User",
    "WebhookEvent",
]
