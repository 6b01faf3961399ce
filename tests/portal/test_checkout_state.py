"""CheckoutReturnState: completing the checkout session Stripe returned from, for every outcome."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from my_dev_portal import routes
from my_dev_portal.api_client import ApiError, CheckoutCompletion
from my_dev_portal.state.checkout import CheckoutReturnState
from tests.portal.api_objects import checkout_completion, subscription
from tests.portal.fakes import FakeApi, redirect_path, run


def completion(key: dict | None) -> CheckoutCompletion:
    return checkout_completion(
        subscription={
            "id": "sub_1",
            "status": "active",
            "current_period_start": "2026-11-24T00:00:00Z",
            "current_period_end": "2026-12-24T00:00:00Z",
            "items": [{"id": "si_1", "price": "price_metered", "product": "prod_api"}],
        },
        keys_created=1 if key else 0,
        key=key,
    )


SUBSCRIPTION = subscription(
    plan={"price_id": "price_metered", "nickname": "Metered graduated", "product_name": "API calls"},
    current_period_start=datetime(2026, 11, 24, tzinfo=UTC),
    current_period_end=datetime(2026, 12, 24, tzinfo=UTC),
)


async def test_completed_checkout_shows_plan_and_first_key_once(fake_api: FakeApi, state) -> None:
    fake_api.completion = completion(
        {"id": "key_1", "name": "default", "prefix": "mdp_ab", "secret": "mdp_ab_s3cr3t"}
    )
    fake_api.current_subscription = SUBSCRIPTION
    page = await state(CheckoutReturnState, url="/return?checkout_session_id=cs_test_1", token="tok_abc")
    await run(CheckoutReturnState.complete, page)
    assert fake_api.called("complete_checkout_session") == [("cs_test_1",)]
    assert page.outcome == "done"
    assert page.plan_name == "Metered graduated"
    assert (page.key_secret, page.key_name) == ("mdp_ab_s3cr3t", "default")
    assert page.period_end == "Dec 24, 2026"
    await run(CheckoutReturnState.forget_secret, page)
    assert page.key_secret == ""


async def test_key_made_by_the_webhook_first_points_to_the_dashboard(fake_api: FakeApi, state) -> None:
    fake_api.completion = completion(None)
    page = await state(CheckoutReturnState, url="/return?checkout_session_id=cs_test_1", token="tok_abc")
    await run(CheckoutReturnState.complete, page)
    assert page.outcome == "done"
    assert page.key_secret == ""
    assert page.plan_name == "prod_api"  # no subscription details: the product id is all there is


async def test_reloading_completes_again_without_a_stale_secret(fake_api: FakeApi, state) -> None:
    fake_api.completion = completion(
        {"id": "key_1", "name": "default", "prefix": "mdp_ab", "secret": "mdp_ab_s"}
    )
    page = await state(CheckoutReturnState, url="/return?checkout_session_id=cs_test_1", token="tok_abc")
    await run(CheckoutReturnState.complete, page)
    fake_api.completion = completion(None)  # the API reveals a secret only to the call that created the key
    await run(CheckoutReturnState.complete, page)
    assert page.outcome == "done"
    assert page.key_secret == ""


@pytest.mark.parametrize(
    "url", ["/return", "/return?canceled=1", "/return?checkout_session_id={CHECKOUT_SESSION_ID}"]
)
async def test_no_session_id_means_canceled(fake_api: FakeApi, state, url: str) -> None:
    page = await state(CheckoutReturnState, url=url, token="tok_abc")
    await run(CheckoutReturnState.complete, page)
    assert page.outcome == "canceled"
    assert fake_api.calls == []


@pytest.mark.parametrize(
    ("status", "outcome"), [(404, "not_found"), (409, "unpaid"), (502, "error"), (0, "error")]
)
async def test_refused_completion_explains_why(fake_api: FakeApi, state, status: int, outcome: str) -> None:
    fake_api.fail["complete_checkout_session"] = ApiError(status, "x", f"API said {status}")
    page = await state(CheckoutReturnState, url="/return?checkout_session_id=cs_x", token="tok_abc")
    await run(CheckoutReturnState.complete, page)
    assert page.outcome == outcome
    assert page.message == f"API said {status}"


async def test_expired_session_on_return_goes_to_login_and_back(fake_api: FakeApi, state) -> None:
    fake_api.fail["complete_checkout_session"] = ApiError(401, "unauthorized", "Session expired.")
    page = await state(CheckoutReturnState, url="/return?checkout_session_id=cs_x", token="tok_old")
    events = await run(CheckoutReturnState.complete, page)
    back_here = routes.login_with_next("/return?checkout_session_id=cs_x")
    assert back_here == "/login?next=/return%3Fcheckout_session_id%3Dcs_x"
    assert redirect_path(events) == routes.signing_out_then(back_here)
