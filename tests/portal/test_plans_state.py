"""PlansState: the plan table, Stripe's pricing table settings, and starting Checkout."""

from __future__ import annotations

import pytest

from my_dev_portal import routes
from my_dev_portal.api_client import ApiError
from my_dev_portal.state.plans import PlansState
from tests.portal.api_objects import plan, tier
from tests.portal.fakes import FakeApi, redirect_path, run

METERED_GRADUATED = plan(
    price_id="price_metered",
    product_id="prod_api",
    product_name="API calls",
    billing_scheme="tiered",
    tiers_mode="graduated",
    tiers=[tier(up_to=1000, unit_amount=0), tier(up_to=None, unit_amount=2)],
    usage_type="metered",
)


async def test_plans_are_described_for_the_table(fake_api: FakeApi, state) -> None:
    fake_api.plan_list = [METERED_GRADUATED]
    plans = await state(PlansState, url="/pricing")
    await run(PlansState.load, plans)
    assert plans.loaded and plans.error == ""
    assert [p.price_id for p in plans.plans] == ["price_metered"]
    assert plans.plans[0].tiers[0].units == "First 1,000"
    assert not plans.uses_stripe_pricing_table


async def test_plan_load_failure_shows_the_apis_message(fake_api: FakeApi, state) -> None:
    fake_api.fail["plans"] = ApiError(503, "stripe_unavailable", "Stripe is not answering.")
    plans = await state(PlansState, url="/pricing")
    await run(PlansState.load, plans)
    assert plans.error == "Plans could not be loaded: Stripe is not answering."
    assert plans.loaded


async def test_configured_pricing_table_replaces_the_plan_list(
    fake_api: FakeApi, state, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_PRICING_TABLE_ID", "prctbl_123")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_abc")
    plans = await state(PlansState, url="/pricing")
    await run(PlansState.load, plans)
    assert plans.uses_stripe_pricing_table
    assert (plans.stripe_pricing_table_id, plans.stripe_publishable_key) == ("prctbl_123", "pk_test_abc")
    assert fake_api.called("plans") == []


async def test_canceled_checkout_is_acknowledged(fake_api: FakeApi, state) -> None:
    plans = await state(PlansState, url="/pricing?canceled=1")
    await run(PlansState.load, plans)
    assert plans.checkout_canceled


async def test_choosing_a_plan_redirects_to_checkout(fake_api: FakeApi, state) -> None:
    plans = await state(PlansState, url="/pricing", token="tok_abc")
    events = await run(PlansState.choose_plan, plans, "price_metered")
    assert fake_api.called("create_checkout_session") == [("price_metered",)]
    assert redirect_path(events) == fake_api.checkout_url
    assert fake_api.tokens == ["tok_abc"]


async def test_choosing_a_plan_signed_out_goes_to_login(fake_api: FakeApi, state) -> None:
    plans = await state(PlansState, url="/pricing")
    events = await run(PlansState.choose_plan, plans, "price_metered")
    assert redirect_path(events) == "/login?next=/pricing"
    assert fake_api.calls == []


async def test_checkout_refusal_is_shown_and_the_button_freed(fake_api: FakeApi, state) -> None:
    fake_api.fail["create_checkout_session"] = ApiError(409, "already_subscribed", "You already have a plan.")
    plans = await state(PlansState, url="/pricing", token="tok_abc")
    events = await run(PlansState.choose_plan, plans, "price_metered")
    assert redirect_path(events) is None
    assert plans.error == "You already have a plan."
    assert plans.choosing_price_id == ""


async def test_expired_session_while_choosing_goes_to_login(fake_api: FakeApi, state) -> None:
    fake_api.fail["create_checkout_session"] = ApiError(401, "unauthorized", "Session expired.")
    plans = await state(PlansState, url="/pricing", token="tok_old")
    events = await run(PlansState.choose_plan, plans, "price_metered")
    assert redirect_path(events) == routes.signing_out_then("/login?next=/pricing")
