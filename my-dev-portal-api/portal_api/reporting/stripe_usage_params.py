"""The Stripe request of a ledger entry (pure): usage-record or meter-event path and params, idempotency key.

The key is derived from (subscription item, meter, hour, revision), so every attempt at one revision is the
same request under the same key; meter events also carry it as their `identifier`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from portal_api.reporting.report_plan import MILLI, LedgerEntry

# Stripe limits meter event identifiers to 100 characters.
MAX_IDENTIFIER = 100


@dataclass(frozen=True)
class StripeRequest:
    path: str  # "" for a skip: nothing is sent
    params: dict[str, Any]
    idempotency_key: str

    @property
    def params_json(self) -> str:
        """The params as stored in the ledger and sent byte-for-byte the same on every attempt."""
        return json.dumps(self.params, separators=(",", ":"), sort_keys=True)


def idempotency_key(subscription_item_id: str, meter_id: str, hour: datetime, revision: int) -> str:
    return f"usage:{subscription_item_id}:{meter_id}:{hour:%Y%m%dT%H}:{revision}"


def meter_event_identifier(key: str) -> str:
    if len(key) <= MAX_IDENTIFIER:
        return key
    return "usage:" + hashlib.sha256(key.encode()).hexdigest()[:64]


def decimal_text(value_milli: int) -> str:
    """Thousandths as a plain decimal string ("12", "0.5", "-3.25")."""
    return format((Decimal(value_milli) / MILLI).normalize(), "f")


def stripe_request(entry: LedgerEntry) -> StripeRequest:
    key = idempotency_key(entry.subscription_item_id, entry.meter_id, entry.hour, entry.revision)
    route = entry.route
    if route is None:  # a skip
        return StripeRequest("", {}, key)
    if route.kind == "usage_record":
        return StripeRequest(
            f"/v1/subscription_items/{entry.subscription_item_id}/usage_records",
            {
                "quantity": entry.quantity_milli // MILLI,
                "timestamp": entry.report_timestamp,
                "action": entry.action,
            },
            key,
        )
    return StripeRequest(
        "/v1/billing/meter_events",
        {
            "event_name": route.event_name,
            "payload": {
                route.customer_key: entry.stripe_customer_id,
                route.value_key: decimal_text(entry.quantity_milli),
            },
            "identifier": meter_event_identifier(key),
            "timestamp": entry.report_timestamp,
        },
        key,
    )
