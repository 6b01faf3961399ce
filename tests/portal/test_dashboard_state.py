"""DashboardState: plan, usage chart data, upcoming invoice, billing portal, and their empty states."""

from __future__ import annotations

from datetime import UTC, datetime

from my_dev_portal.api_client import ApiError, UpcomingInvoice, Usage
from my_dev_portal.state.dashboard import DashboardState, meter_views, usage_range
from tests.portal.api_objects import (
    estimate,
    invoice_line,
    invoice_preview,
    meter_usage,
    subscription,
    upcoming_invoice,
    usage,
)
from tests.portal.fakes import FakeApi, redirect_path, run

SUBSCRIPTION = subscription(
    status="past_due",
    plan={"price_id": "price_metered", "nickname": None, "product_name": "API calls"},
    current_period_start=datetime(2026, 11, 1, tzinfo=UTC),
    current_period_end=datetime(2026, 12, 1, tzinfo=UTC),
    cancel_at_period_end=True,
)


async def test_subscription_usage_and_invoice_are_shown(fake_api: FakeApi, state) -> None:
    fake_api.current_subscription = SUBSCRIPTION
    fake_api.usage_data = usage(
        meters=[
            meter_usage(
                series=[
                    {"start": "2026-11-01T00:00:00Z", "value": 1200},
                    {"start": "2026-11-02T00:00:00Z", "value": 300},
                ],
                period_value=1500,
                estimated_amount=1000,
            )
        ]
    )
    fake_api.invoice = upcoming_invoice(
        stripe=invoice_preview(
            amount_due=1000, currency="eur", lines=[invoice_line(description="API calls", amount=1000)]
        ),
        estimate=estimate(amount=1100, currency="eur"),
    )
    dashboard = await state(DashboardState, url="/dashboard", token="tok_abc")
    await run(DashboardState.load, dashboard)
    assert dashboard.plan_name == "API calls"
    assert (dashboard.status, dashboard.status_color) == ("past due", "orange")
    assert dashboard.current_period == "Nov 1, 2026 \u2013 Dec 1, 2026"
    assert dashboard.cancel_at_period_end
    start, _end, granularity = fake_api.called("usage")[0]
    assert (start, granularity) == (SUBSCRIPTION.current_period_start, "day")
    [meter] = dashboard.meters
    assert (meter.period_total, meter.estimate) == ("1,500", "$10.00")
    assert meter.points == [{"day": "Nov 1", "value": 1200}, {"day": "Nov 2", "value": 300}]
    assert (dashboard.invoice_total, dashboard.estimate_total) == ("€10.00", "€11.00")
    assert dashboard.invoice_lines[0].amount == "€10.00"


async def test_missing_endpoints_give_empty_states(fake_api: FakeApi, state) -> None:
    dashboard = await state(DashboardState, url="/dashboard", token="tok_abc")
    await run(DashboardState.load, dashboard)
    assert dashboard.loaded and dashboard.error == ""
    assert not dashboard.has_subscription
    assert not dashboard.usage_available and dashboard.meters == []
    assert not dashboard.invoice_available


async def test_signed_out_dashboard_asks_nothing_of_the_api(fake_api: FakeApi, state) -> None:
    dashboard = await state(DashboardState, url="/dashboard")
    assert await run(DashboardState.load, dashboard) == []
    assert fake_api.calls == []


async def test_usage_failure_is_reported_but_the_rest_loads(fake_api: FakeApi, state) -> None:
    fake_api.current_subscription = SUBSCRIPTION
    fake_api.fail["usage"] = ApiError(500, "internal", "Meter store offline.")
    dashboard = await state(DashboardState, url="/dashboard", token="tok_abc")
    await run(DashboardState.load, dashboard)
    assert dashboard.has_subscription
    assert dashboard.error == "Usage could not be loaded: Meter store offline."


async def test_manage_billing_opens_the_portal_url(fake_api: FakeApi, state) -> None:
    dashboard = await state(DashboardState, url="/dashboard", token="tok_abc")
    events = await run(DashboardState.open_billing_portal, dashboard)
    assert redirect_path(events) == fake_api.portal_url
    assert not dashboard.opening_billing_portal


async def test_manage_billing_failure_is_explained(fake_api: FakeApi, state) -> None:
    fake_api.fail["billing_portal"] = ApiError(404, "no_customer", "Subscribe to a plan first.")
    dashboard = await state(DashboardState, url="/dashboard", token="tok_abc")
    events = await run(DashboardState.open_billing_portal, dashboard)
    assert redirect_path(events) is None
    assert dashboard.error == "Billing could not be opened: Subscribe to a plan first."


async def test_real_usage_and_invoice_shapes_are_shown(fake_api: FakeApi, state) -> None:
    """GET /v1/usage and GET /v1/invoices/upcoming as portal_api sends them (Decimals as strings)."""
    fake_api.current_subscription = SUBSCRIPTION
    fake_api.usage_data = Usage.model_validate(
        {
            "from": "2026-11-01T00:00:00Z",
            "to": "2026-11-03T00:00:00Z",
            "granularity": "day",
            "subscription_id": "sub_1",
            "meters": [
                {
                    "meter_id": "mtr_1",
                    "name": "Active users",
                    "price_id": "price_metered",
                    "price_nickname": None,
                    "metric": "unique_users",
                    "charge_by": "max_during_period",
                    "series": [{"start": "2026-11-01T00:00:00Z", "value": 3}],
                    "period_start": "2026-11-01T00:00:00Z",
                    "period_end": "2026-12-01T00:00:00Z",
                    "period_value": 12,
                    "estimated_amount": None,
                    "currency": "usd",
                }
            ],
        }
    )
    fake_api.invoice = UpcomingInvoice.model_validate(
        {
            "subscription_id": "sub_1",
            "stripe": {
                "amount_due": 1250,
                "subtotal": 1250,
                "currency": "usd",
                "period_start": "2026-11-01T00:00:00Z",
                "period_end": "2026-12-01T00:00:00Z",
                "lines": [
                    {
                        "description": "1500 x My API",
                        "amount": 1250,
                        "quantity": "1500",
                        "price_id": "price_1",
                    }
                ],
            },
            "estimate": {
                "amount": 1260,
                "currency": "usd",
                "period_start": None,
                "period_end": None,
                "lines": [
                    {
                        "meter_id": "mtr_1",
                        "name": "API calls",
                        "price_id": "price_1",
                        "quantity": "1502",
                        "amount": 1260,
                    }
                ],
            },
        }
    )
    dashboard = await state(DashboardState, url="/dashboard", token="tok_abc")
    await run(DashboardState.load, dashboard)
    [meter] = dashboard.meters
    assert (meter.period_total, meter.unit, meter.period_phrase, meter.estimate) == (
        "12",
        "users",
        "at peak this period",
        "",
    )
    assert (dashboard.invoice_total, dashboard.invoice_period, dashboard.estimate_total) == (
        "$12.50",
        "Nov 1, 2026 \u2013 Dec 1, 2026",
        "$12.60",
    )
    assert [(line.description, line.amount) for line in dashboard.invoice_lines] == [
        ("1500 x My API", "$12.50")
    ]


def test_chart_covers_the_period_up_to_today() -> None:
    now = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)
    assert usage_range(SUBSCRIPTION, now) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 11, 25, tzinfo=UTC),
    )
    assert usage_range(SUBSCRIPTION, datetime(2027, 1, 5, tzinfo=UTC))[1] == datetime(2026, 12, 1, tzinfo=UTC)
    assert usage_range(None, now) == (None, None)  # the API's default: this calendar month


def test_metric_units_agree_with_the_period_count() -> None:
    def phrase(metric: str, value: float) -> str:
        [view] = meter_views(usage(meters=[meter_usage(metric=metric, period_value=value)]))
        return f"{view.period_total} {view.unit}"

    assert phrase("event_count", 1) == "1 call"
    assert phrase("event_count", 2500) == "2,500 calls"
    assert phrase("unique_users", 1) == "1 user"
    assert phrase("unique_sessions", 0) == "0 sessions"
