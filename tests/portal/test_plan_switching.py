"""Switching plans on /pricing (current plan marked, the preview dialog, confirming) and canceling at the
period end / resuming on the dashboard; the Stripe Pricing Table path switches in the billing portal."""

from __future__ import annotations

import pytest

from my_dev_portal import routes
from my_dev_portal.api_client import ApiError
from my_dev_portal.state.dashboard import DashboardState
from my_dev_portal.state.plans import PlansState
from tests.portal.api_objects import plan, plan_change_preview, subscription
from tests.portal.fakes import FakeApi, redirect_path, run

BASIC = plan(price_id="price_basic", nickname="Basic", unit_amount=1000, usage_type="licensed")
PRO = plan(price_id="price_pro", nickname="Pro", unit_amount=3000, usage_type="licensed")
ON_BASIC = subscription(
    plan={"price_id": "price_basic", "nickname": "Basic", "product_name": "API calls"},
    items=[{"id": "si_1", "price": "price_basic", "product": "prod_api", "usage_type": "licensed"}],
)


async def pricing(fake_api: FakeApi, state, **kwargs) -> PlansState:
    fake_api.plan_list = [BASIC, PRO]
    plans = await state(PlansState, url="/pricing", **kwargs)
    await run(PlansState.load, plans)
    return plans


async def test_the_current_plan_is_marked_and_the_others_offer_a_switch(fake_api: FakeApi, state) -> None:
    fake_api.current_subscription = ON_BASIC
    plans = await pricing(fake_api, state, token="tok_abc")

    assert (plans.current_price_id, plans.current_plan_name) == ("price_basic", "Basic")
    assert plans.subscribed and plans.subscription_blocked == ""


async def test_signed_out_visitors_see_plans_to_choose(fake_api: FakeApi, state) -> None:
    plans = await pricing(fake_api, state)

    assert plans.current_price_id == "" and not plans.subscribed
    assert fake_api.called("subscription") == []


async def test_an_ended_subscription_marks_nothing(fake_api: FakeApi, state) -> None:
    fake_api.current_subscription = subscription(status="canceled")
    plans = await pricing(fake_api, state, token="tok_abc")

    assert plans.current_price_id == "" and not plans.subscribed


async def test_a_past_due_subscription_blocks_switching_with_a_reason(fake_api: FakeApi, state) -> None:
    fake_api.current_subscription = ON_BASIC.model_copy(update={"status": "past_due"})
    plans = await pricing(fake_api, state, token="tok_abc")

    assert plans.current_price_id == "price_basic" and not plans.subscribed
    assert "past due" in plans.subscription_blocked and "Manage billing" in plans.subscription_blocked


async def test_switching_shows_stripes_preview_then_switches_with_its_token(fake_api: FakeApi, state) -> None:
    fake_api.current_subscription = ON_BASIC
    plans = await pricing(fake_api, state, token="tok_abc")

    await run(PlansState.start_switch, plans, "price_pro")

    assert fake_api.called("preview_plan_change") == [("price_pro", "create_prorations")]
    assert plans.switch_dialog_open and plans.switch_plan_name == "Pro" and not plans.switch_loading
    assert [(line.description, line.amount) for line in plans.switch_lines] == [
        ("Unused time on API calls (Basic) after 11 Nov 2026", "-$6.67"),
        ("Remaining time on API calls (Pro) after 11 Nov 2026", "$20.00"),
    ]
    assert (plans.switch_proration, plans.switch_due) == ("$13.33", "$43.33")
    assert plans.switch_due_label == "Your next invoice, on Dec 1, 2026"
    assert plans.switch_as_of == "Nov 1, 2026"

    await run(PlansState.confirm_switch, plans)

    assert fake_api.called("change_plan") == [("price_pro", "preview-token-1", "create_prorations")]
    assert not plans.switch_dialog_open
    assert plans.current_price_id == "price_pro"
    assert "now on pro" in plans.notice.lower()


async def test_an_immediate_invoice_says_charged_now(fake_api: FakeApi, state) -> None:
    fake_api.current_subscription = ON_BASIC
    fake_api.change_preview = plan_change_preview(invoice_now=True, invoice_amount_due=1333)
    plans = await pricing(fake_api, state, token="tok_abc")

    await run(PlansState.start_switch, plans, "price_pro")

    assert (plans.switch_due_label, plans.switch_due) == ("Charged now", "$13.33")


async def test_a_refused_preview_is_shown_in_the_dialog_and_nothing_switches(
    fake_api: FakeApi, state
) -> None:
    fake_api.current_subscription = ON_BASIC
    fake_api.fail["preview_plan_change"] = ApiError(409, "already_on_plan", "You are on this plan already")
    plans = await pricing(fake_api, state, token="tok_abc")

    await run(PlansState.start_switch, plans, "price_basic")
    await run(PlansState.confirm_switch, plans)

    assert plans.switch_error == "You are on this plan already" and plans.switch_dialog_open
    assert fake_api.called("change_plan") == []


async def test_a_refused_switch_keeps_the_dialog_open_with_the_reason(fake_api: FakeApi, state) -> None:
    fake_api.current_subscription = ON_BASIC
    fake_api.fail["change_plan"] = ApiError(
        409, "preview_expired", "The preview has expired; preview it again"
    )
    plans = await pricing(fake_api, state, token="tok_abc")
    await run(PlansState.start_switch, plans, "price_pro")

    await run(PlansState.confirm_switch, plans)

    assert plans.switch_dialog_open and not plans.switch_confirming
    assert plans.switch_error == "The preview has expired; preview it again"
    assert plans.current_price_id == "price_basic"


async def test_closing_the_dialog_forgets_the_preview(fake_api: FakeApi, state) -> None:
    fake_api.current_subscription = ON_BASIC
    plans = await pricing(fake_api, state, token="tok_abc")
    await run(PlansState.start_switch, plans, "price_pro")

    await run(PlansState.set_switch_dialog_open, plans, False)

    assert not plans.switch_dialog_open and plans.switch_token == ""


async def test_switching_signed_out_goes_to_login(fake_api: FakeApi, state) -> None:
    plans = await pricing(fake_api, state)

    events = await run(PlansState.start_switch, plans, "price_pro")

    assert redirect_path(events) == routes.login_with_next(routes.PRICING)


async def test_pricing_table_subscribers_switch_in_the_billing_portal(
    fake_api: FakeApi, state, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_PRICING_TABLE_ID", "prctbl_123")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_abc")
    fake_api.current_subscription = ON_BASIC
    plans = await state(PlansState, url="/pricing", token="tok_abc")
    await run(PlansState.load, plans)
    assert plans.uses_stripe_pricing_table and plans.current_price_id == "price_basic"

    events = await run(PlansState.open_plan_switch_portal, plans)

    assert fake_api.called("billing_portal") == [("subscription_update",)]
    assert redirect_path(events) == fake_api.portal_url


async def test_dashboard_cancels_at_period_end_then_resumes(fake_api: FakeApi, state) -> None:
    fake_api.current_subscription = ON_BASIC
    dashboard = await state(DashboardState, url="/dashboard", token="tok_abc")
    await run(DashboardState.load, dashboard)
    assert dashboard.can_cancel and not dashboard.cancel_at_period_end and dashboard.ends_on == ""

    await run(DashboardState.ask_cancel, dashboard)
    assert dashboard.confirming_cancel
    await run(DashboardState.confirm_cancel, dashboard)

    assert fake_api.called("cancel_subscription") == [()]
    assert dashboard.cancel_at_period_end and not dashboard.can_cancel and not dashboard.confirming_cancel
    assert dashboard.ends_on == "Dec 1, 2026"

    await run(DashboardState.resume, dashboard)

    assert fake_api.called("resume_subscription") == [()]
    assert not dashboard.cancel_at_period_end and dashboard.can_cancel and dashboard.ends_on == ""


async def test_a_refused_cancellation_is_explained(fake_api: FakeApi, state) -> None:
    fake_api.current_subscription = ON_BASIC
    fake_api.fail["cancel_subscription"] = ApiError(502, "upstream_error", "Stripe did not answer")
    dashboard = await state(DashboardState, url="/dashboard", token="tok_abc")
    await run(DashboardState.load, dashboard)

    await run(DashboardState.confirm_cancel, dashboard)

    assert dashboard.error == "Your subscription could not be canceled: Stripe did not answer"
    assert not dashboard.cancel_at_period_end and not dashboard.changing_cancellation
