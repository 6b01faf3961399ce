"""One module per Stripe resource; importing this package registers every /v1 route."""

from stripe_emulator.resources import (
    billing_meters,
    billing_portal,
    checkout,
    customers,
    events,
    invoices,
    prices,
    products,
    subscriptions,
    usage_records,
    webhook_endpoints,
)

__all__ = [
    "billing_meters",
    "billing_portal",
    "checkout",
    "customers",
    "events",
    "invoices",
    "prices",
    "products",
    "subscriptions",
    "usage_records",
    "webhook_endpoints",
]
