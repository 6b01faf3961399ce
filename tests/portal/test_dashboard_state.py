"""DashboardState: plan, usage chart data, upcoming invoice, billing portal, and their empty states."""

from __future__ import annotations

from datetime import UTC, datetime

from my_dev_portal.api_client import ApiError, Subscription, UpcomingInvoice, Usage
from my_dev_portal.state.dashboard import DashboardState
from tests.portal.fakes import FakeApi, redirect_path, run

SUBSCRIPTION = Subscription.model_validate(
    {
        "id": "sub_1",
        "status": "past_due",
        "plan": {"price_id": "price_metered", "nickname": None, "product_name": "API calls"},
        "current_period_start": datetime(2026, 11, 1, tzinfo=UTC),
        "current_period_end": datetime(2026, 12, 1, tzinfo=UTC),
        "cancel_at_period_end": True,
    }
)


async def test_subscription_usage_and_invoice_are_shown(fake_api: FakeApi, state) -> None:
    fake_api.current_subscription = SUBSCRIPTION
    fake_api.usage_data = Usage.model_validate(
        {
            "meters": [
                {
                    "meter_id": "mtr_1",
                    "name": "API calls",
                    "unit": "calls",
                    "series": [
                        {"start": "2026-11-01T00:00:00Z", "value": 1200},
                        {"start": "2026-11-02T00:00:00Z", "value": 300},
                    ],
                    "period_value": 1500,
                    "estimated_amount": 1000,
                    "currency": "usd",
                }
            ]
        }
    )
    fake_api.invoice = UpcomingInvoice.model_validate(
        {
            "stripe": {
                "amount_due": 1000,
                "currency": "eur",
                "lines": [{"description": "API calls", "amount": 1000}],
            },
            "estimate": {"amount": 1100, "currency": "eur"},
        }
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
