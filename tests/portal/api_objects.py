"""Whole API responses for portal tests, as portal_api sends them: every field present, overrides on top.

The models are the generated ones (my_dev_portal/api_models.py), so a test object the API could not have
sent fails to build here, and a field the API adds needs a default here only when it is required.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from my_dev_portal.api_client import (
    AdminCustomerDetail,
    AdminHealth,
    AdminToken,
    ApiKey,
    BillingProvider,
    CheckoutCompletion,
    CollectorToken,
    CreatedKey,
    CustomerList,
    Meter,
    MeterTestEventResult,
    MeterTestResult,
    Plan,
    PlanChangePreview,
    ReportRunList,
    Subscription,
    UpcomingInvoice,
    Usage,
    User,
)

M = TypeVar("M", bound=BaseModel)

CREATED = "2026-11-20T09:00:00Z"
PERIOD_START = "2026-11-01T00:00:00Z"
PERIOD_END = "2026-12-01T00:00:00Z"


def build(model: type[M], base: dict[str, Any], fields: dict[str, Any]) -> M:
    return model.model_validate(base | fields)


def user(**fields: Any) -> User:
    base = {
        "id": "usr_1",
        "email": "ada@example.com",
        "name": "Ada",
        "is_admin": False,
        "created_at": CREATED,
    }
    return build(User, base, fields)


def plan(**fields: Any) -> Plan:
    base = {
        "price_id": "price_1",
        "lookup_key": None,
        "product_id": "prod_1",
        "product_name": "API",
        "product_description": None,
        "nickname": None,
        "currency": "usd",
        "unit_amount": None,
        "unit_amount_decimal": None,
        "billing_scheme": "per_unit",
        "tiers": None,
        "tiers_mode": None,
        "transform_quantity": None,
        "interval": "month",
        "interval_count": 1,
        "usage_type": "licensed",
        "aggregate_usage": None,
        "meter": None,
    }
    return build(Plan, base, fields)


def tier(**fields: Any) -> dict[str, Any]:
    """One of a plan's tiers, as the dict `plan(tiers=[...])` takes."""
    return {"up_to": None, "unit_amount": None, "unit_amount_decimal": None, "flat_amount": None} | fields


def subscription(**fields: Any) -> Subscription:
    base = {
        "id": "sub_1",
        "status": "active",
        "plan": {"price_id": "price_metered", "nickname": None, "product_name": "API calls"},
        "items": [{"id": "si_1", "price": "price_metered", "product": "prod_api", "usage_type": "metered"}],
        "current_period_start": PERIOD_START,
        "current_period_end": PERIOD_END,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "canceled_at": None,
    }
    return build(Subscription, base, fields)


def plan_change_preview(**fields: Any) -> PlanChangePreview:
    """POST /v1/subscription/change/preview: Basic ($10) to Pro ($30) with 20 of 30 days left."""
    base = {
        "subscription_id": "sub_1",
        "from_price_id": "price_basic",
        "price_id": "price_pro",
        "proration": "create_prorations",
        "currency": "usd",
        "proration_date": PERIOD_START,
        "proration_amount": 1333,
        "invoice_now": False,
        "invoice_amount_due": 4333,
        "invoice_date": PERIOD_END,
        "lines": [
            {
                "description": "Unused time on API calls (Basic) after 11 Nov 2026",
                "amount": -667,
                "proration": True,
                "period_start": PERIOD_START,
                "period_end": PERIOD_END,
            },
            {
                "description": "Remaining time on API calls (Pro) after 11 Nov 2026",
                "amount": 2000,
                "proration": True,
                "period_start": PERIOD_START,
                "period_end": PERIOD_END,
            },
            {
                "description": "1 \u00d7 API calls (Pro)",
                "amount": 3000,
                "proration": False,
                "period_start": PERIOD_END,
                "period_end": PERIOD_END,
            },
        ],
        "preview_token": "preview-token-1",
        "expires_at": PERIOD_START,
    }
    return build(PlanChangePreview, base, fields)


def meter_usage(**fields: Any) -> dict[str, Any]:
    """One meter of GET /v1/usage, as the dict `usage(meters=[...])` takes."""
    base = {
        "meter_id": "mtr_1",
        "name": "API calls",
        "price_id": "price_graduated",
        "price_nickname": "Pay as you go",
        "metric": "event_count",
        "charge_by": "sum_during_period",
        "series": [],
        "period_start": PERIOD_START,
        "period_end": PERIOD_END,
        "period_value": 0,
        "estimated_amount": None,
        "currency": "usd",
    }
    return base | fields


def usage(**fields: Any) -> Usage:
    base = {
        "from": PERIOD_START,
        "to": PERIOD_END,
        "granularity": "day",
        "subscription_id": "sub_1",
        "meters": [],
    }
    return build(Usage, base, fields)


def invoice_preview(**fields: Any) -> dict[str, Any]:
    """Stripe's side of GET /v1/invoices/upcoming, as the dict `upcoming_invoice(stripe=...)` takes."""
    base = {
        "amount_due": 0,
        "subtotal": 0,
        "currency": "usd",
        "period_start": PERIOD_START,
        "period_end": PERIOD_END,
        "lines": [],
    }
    return base | fields


def estimate(**fields: Any) -> dict[str, Any]:
    """Our side of GET /v1/invoices/upcoming, as the dict `upcoming_invoice(estimate=...)` takes."""
    base = {
        "amount": 0,
        "currency": "usd",
        "period_start": PERIOD_START,
        "period_end": PERIOD_END,
        "lines": [],
    }
    return base | fields


def upcoming_invoice(**fields: Any) -> UpcomingInvoice:
    base = {"subscription_id": "sub_1", "stripe": invoice_preview(), "estimate": estimate()}
    return build(UpcomingInvoice, base, fields)


def invoice_line(**fields: Any) -> dict[str, Any]:
    return {"description": None, "amount": 0, "quantity": None, "price_id": None} | fields


def api_key(**fields: Any) -> ApiKey:
    base = {
        "id": "key_1",
        "name": "default",
        "prefix": "mdp_0001",
        "status": "active",
        "created_at": CREATED,
        "expires_at": None,
        "revoked_at": None,
        "last_used_at": None,
    }
    return build(ApiKey, base, fields)


def created_key(**fields: Any) -> CreatedKey:
    base = api_key().model_dump(mode="json") | {"secret": "mdp_0001_secret"}
    return build(CreatedKey, base, fields)


def checkout_completion(**fields: Any) -> CheckoutCompletion:
    base = {
        "customer": {"id": "cus_1", "email": "ada@example.com", "name": "Ada"},
        "subscription": {
            "id": "sub_1",
            "status": "active",
            "current_period_start": PERIOD_START,
            "current_period_end": PERIOD_END,
            "items": [{"id": "si_1", "price": "price_metered", "product": "prod_api"}],
        },
        "keys_created": 0,
        "key": None,
    }
    return build(CheckoutCompletion, base, fields)


# --- admin console -------------------------------------------------------------------------------------


def billing_provider(**fields: Any) -> BillingProvider:
    base = {
        "provider": "stripe",
        "source": "environment",
        "secret_key_set": True,
        "secret_key_last4": "4242",
        "mode": "test",
        "publishable_key": None,
        "api_version": "2020-08-27",
        "reporting": "usage_records",
        "webhook": {
            "url": "http://api.test/v1/webhooks/stripe",
            "signing_secret_set": True,
            "last_received_at": None,
            "received_last_24h": 0,
            "arriving": False,
        },
        "updated_at": None,
        "updated_by": None,
    }
    return build(BillingProvider, base, fields)


def meter(**fields: Any) -> Meter:
    base = {
        "id": "mtr_1",
        "name": "API calls",
        "provider": "stripe",
        "stripe_product_id": "prod_api",
        "stripe_price_id": "price_graduated",
        "price_nickname": None,
        "currency": "usd",
        "filters": None,
        "metric": {"type": "event_count"},
        "charge_by": "sum_during_period",
        "active": True,
        "version": 1,
        "rebuilt_at": None,
        "rebuilt_from": None,
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    return build(Meter, base, fields)


def meter_test_result(**fields: Any) -> MeterTestResult:
    """POST /v1/admin/meters/{id}/test; pass `**{"pass": False}` for a failed test."""
    base = {
        "pass": True,
        "reason": None,
        "meter_id": "mtr_1",
        "price_id": "price_graduated",
        "api_version": "2020-08-27",
        "mode": "test",
        "checks": [],
    }
    return build(MeterTestResult, base, fields)


def synthetic_event(**fields: Any) -> dict[str, Any]:
    """The Meter Test's call, as the API sends it (GET .../test-event, and in a result)."""
    base = {
        "route": "/v1/search",
        "method": "GET",
        "status": 200,
        "weight": 1,
        "company": None,
        "request_headers": {},
        "response_headers": {},
        "metadata": {"meter_test": True},
    }
    return base | fields


def meter_test_event(**fields: Any) -> MeterTestEventResult:
    """GET /v1/admin/meters/{id}/test-event; `event=None, reason=...` when no call can match."""
    base = {"meter_id": "mtr_1", "event": synthetic_event(), "reason": None}
    return build(MeterTestEventResult, base, fields)


def customer(**fields: Any) -> dict[str, Any]:
    """One customer of GET /v1/admin/customers, as a dict (the list and the detail share it)."""
    base = {
        "user_id": "usr_7",
        "email": "lin@example.com",
        "name": "Lin",
        "stripe_customer_id": "cus_7",
        "subscription": {
            "id": "sub_7",
            "status": "active",
            "price_id": "price_graduated",
            "plan_nickname": "Pay as you go",
            "current_period_start": PERIOD_START,
            "current_period_end": PERIOD_END,
        },
        "usage": [],
        "last_reports": [],
    }
    return base | fields


def customer_list(*customers: dict[str, Any]) -> CustomerList:
    return CustomerList.model_validate(
        {"data": list(customers), "total": len(customers), "limit": 200, "offset": 0}
    )


def customer_detail(**fields: Any) -> AdminCustomerDetail:
    found = customer(**fields)
    return build(AdminCustomerDetail, found, {"subscriptions": [found["subscription"]]} | fields)


def report_run(**fields: Any) -> dict[str, Any]:
    """One run of GET /v1/admin/report-runs, as the dict `report_runs(...)` takes."""
    base = {
        "id": "rrun_1",
        "kind": "hourly",
        "status": "succeeded",
        "api_version": "2020-08-27",
        "started_at": CREATED,
        "finished_at": None,
        "range_start": None,
        "range_end": None,
        "planned": 0,
        "corrections": 0,
        "sent": 0,
        "failed": 0,
        "rejected": 0,
        "skipped": 0,
        "retries": 0,
        "lag_seconds": None,
        "oldest_unreported_hour": None,
        "errors": [],
    }
    return base | fields


def report_runs(*runs: dict[str, Any], lag_seconds: int | None = None) -> ReportRunList:
    return ReportRunList.model_validate({"data": list(runs), "lag_seconds": lag_seconds})


def admin_health(**fields: Any) -> AdminHealth:
    base = {
        "status": "ok",
        "checked_at": CREATED,
        "database": {"status": "ok", "latency_ms": 1.0, "error": None},
        "stripe": {
            "status": "ok",
            "reachable": True,
            "latency_ms": 20.0,
            "checked_at": CREATED,
            "cached": False,
            "error": None,
        },
        "webhook_inbox": {"pending": 0, "failed": 0, "last_received_at": None},
        "reporting": {"available": True, "lag_seconds": None, "last_run_at": None, "last_run_status": None},
        "ingest": {"events_last_hour": 0},
    }
    return build(AdminHealth, base, fields)


def admin_token(**fields: Any) -> AdminToken:
    base = {
        "id": "admin_1",
        "name": "ci",
        "prefix": "mdp_admin_0001",
        "created_at": CREATED,
        "revoked_at": None,
        "last_used_at": None,
        "created_by_user_id": "usr_admin",
        "scopes": ["verify", "ingest"],
    }
    return build(AdminToken, base, fields)


def collector_token(**fields: Any) -> CollectorToken:
    base = {
        "id": "collector_1",
        "name": "moesif",
        "prefix": "mdp_collector_0001",
        "created_at": CREATED,
        "revoked_at": None,
        "last_used_at": None,
    }
    return build(CollectorToken, base, fields)
