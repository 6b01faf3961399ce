"""Billing portal: configurations, sessions with flow_data deep links, and the hosted portal pages
(subscriptions, plan switching with its proration preview, cancel at period end, renew, return link)."""

import json
import re

import httpx
import pytest
import stripe

from tests.emulator.conftest import LATEST, body, product, recurring_price, subscribe


def test_portal_session_points_at_the_emulator_page(legacy, emulator):
    subscription = subscribe(legacy, recurring_price(legacy, unit_amount=5).id)
    session = legacy.v1.billing_portal.sessions.create(
        {"customer": subscription.customer, "return_url": "http://portal.test/account"}
    )
    assert session.id.startswith("bps_")
    assert session.object == "billing_portal.session"
    assert session.url == f"{emulator.url}/p/session/{session.id}"
    page = httpx.get(session.url)
    assert page.status_code == 200
    assert "My API" in page.text
    assert f'id="cancel-{subscription.id}"'.replace('"', "'") in page.text
    assert "href='http://portal.test/account'>Return</a>" in page.text


def _form_action(page: str, button_id: str) -> str:
    """The action of the form holding the button with id `button_id`."""
    for form in re.findall(r"<form[^>]*action='([^']+)'[^>]*>(.*?)</form>", page, re.S):
        if f"id='{button_id}'" in form[1]:
            return form[0]
    raise AssertionError(f"no form with {button_id} in {page}")


def _origin(session) -> str:
    return session.url.split("/p/")[0]


def test_cancel_button_cancels_at_the_period_end_and_renew_takes_it_back(legacy):
    subscription = subscribe(legacy, recurring_price(legacy, unit_amount=5).id)
    session = legacy.v1.billing_portal.sessions.create(
        {"customer": subscription.customer, "return_url": "http://x/"}
    )
    action = _form_action(httpx.get(session.url).text, f"cancel-{subscription.id}")
    response = httpx.post(f"{_origin(session)}{action}")
    assert response.status_code == 303
    canceling = legacy.v1.subscriptions.retrieve(subscription.id)
    assert (canceling.status, canceling.cancel_at_period_end) == ("active", True)
    page = httpx.get(session.url).text
    assert f"id='ends-{subscription.id}'" in page and "Cancels on" in page

    httpx.post(f"{_origin(session)}{_form_action(page, f'renew-{subscription.id}')}")
    assert legacy.v1.subscriptions.retrieve(subscription.id).cancel_at_period_end is False


def test_a_configuration_with_immediate_cancellation_cancels_at_once(legacy):
    subscription = subscribe(legacy, recurring_price(legacy, unit_amount=5).id)
    configuration = legacy.v1.billing_portal.configurations.create(
        {"features": {"subscription_cancel": {"enabled": True, "mode": "immediately"}}}
    )
    session = legacy.v1.billing_portal.sessions.create(
        {"customer": subscription.customer, "configuration": configuration.id}
    )
    httpx.post(f"{_origin(session)}{_form_action(httpx.get(session.url).text, f'cancel-{subscription.id}')}")
    assert legacy.v1.subscriptions.retrieve(subscription.id).status == "canceled"


def _plans(client):
    prod = product(client)
    basic = recurring_price(client, product=prod.id, unit_amount=1000, nickname="Basic")
    pro = recurring_price(client, product=prod.id, unit_amount=3000, nickname="Pro")
    other = recurring_price(client, unit_amount=500, nickname="Other product")
    client.v1.prices.create(
        {"product": prod.id, "currency": "usd", "unit_amount": 99}
    )  # one-time: not offered
    return basic, pro, other


def test_default_configuration_offers_the_products_other_prices(legacy):
    configuration = legacy.v1.billing_portal.configurations.retrieve("bpc_emulator")
    assert configuration.is_default is True
    update = configuration.features.subscription_update
    assert (update.enabled, update.default_allowed_updates, update.proration_behavior, update.products) == (
        True,
        ["price"],
        "create_prorations",
        None,
    )
    assert configuration.features.subscription_cancel.mode == "at_period_end"
    assert [c.id for c in legacy.v1.billing_portal.configurations.list({"is_default": True}).data] == [
        "bpc_emulator"
    ]


def test_portal_switches_the_plan_with_the_previewed_proration(legacy, emulator):
    basic, pro, other = _plans(legacy)
    subscription = subscribe(legacy, basic.id)
    emulator.advance_clock(days=9)
    session = legacy.v1.billing_portal.sessions.create(
        {"customer": subscription.customer, "return_url": "http://portal.test/dashboard"}
    )
    home = httpx.get(session.url).text
    update_href = re.search(rf"id='update-{subscription.id}' href='([^']+)'", home).group(1)

    choices = httpx.get(f"{_origin(session)}{update_href}").text
    assert f"id='current-{basic.id}'" in choices and f"id='price-{pro.id}'" in choices
    assert other.id not in choices  # another product's price is not on offer
    confirm_href = re.search(rf"id='price-{pro.id}' href='([^']+)'", choices).group(1)
    confirm = httpx.get(f"{_origin(session)}{confirm_href}").text
    moment = int(re.search(r"name='proration_date' value='(\d+)'", confirm).group(1))
    preview = body(
        legacy.raw_request(
            "get",
            "/v1/invoices/upcoming",
            subscription=subscription.id,
            subscription_items=[{"id": subscription["items"].data[0].id, "price": pro.id}],
            subscription_proration_date=moment,
        )
    )
    prorated = sum(line["amount"] for line in preview["lines"]["data"] if line["proration"])
    assert f"{prorated / 100:,.2f} USD" in re.search(r"id='proration'>([^<]+)<", confirm).group(1)
    emulator.clear_webhook_deliveries()
    done = httpx.post(f"{_origin(session)}{confirm_href}", data={"proration_date": str(moment)})

    assert done.status_code == 303 and done.headers["location"].startswith(f"/p/session/{session.id}")
    switched = legacy.v1.subscriptions.retrieve(subscription.id)
    assert switched["items"].data[0].price.id == pro.id
    assert switched["items"].data[0].id == subscription["items"].data[0].id
    upcoming = body(legacy.raw_request("get", "/v1/invoices/upcoming", subscription=subscription.id))
    assert upcoming["total"] == preview["total"]
    (event,) = emulator.webhook_deliveries(type="customer.subscription.updated")
    assert json.loads(event["payload"])["data"]["previous_attributes"]["plan"]["id"] == basic.id


def test_subscription_update_flow_opens_the_plan_choice_and_redirects_when_done(legacy):
    basic, pro, _ = _plans(legacy)
    subscription = subscribe(legacy, basic.id)
    session = legacy.v1.billing_portal.sessions.create(
        {
            "customer": subscription.customer,
            "return_url": "http://portal.test/dashboard",
            "flow_data": {
                "type": "subscription_update",
                "subscription_update": {"subscription": subscription.id},
                "after_completion": {
                    "type": "redirect",
                    "redirect": {"return_url": "http://portal.test/dashboard?switched=1"},
                },
            },
        }
    )
    assert session.flow.type == "subscription_update"
    assert session.flow.subscription_update.subscription == subscription.id
    assert session.flow.after_completion.redirect.return_url == "http://portal.test/dashboard?switched=1"

    page = httpx.get(session.url).text
    assert "Update your plan" in page
    confirm_href = re.search(rf"id='price-{pro.id}' href='([^']+)'", page).group(1)
    moment = re.search(r"value='(\d+)'", httpx.get(f"{_origin(session)}{confirm_href}").text).group(1)
    done = httpx.post(f"{_origin(session)}{confirm_href}", data={"proration_date": moment})

    assert done.status_code == 303 and done.headers["location"] == "http://portal.test/dashboard?switched=1"
    assert legacy.v1.subscriptions.retrieve(subscription.id)["items"].data[0].price.id == pro.id
    assert "Manage your subscriptions" in httpx.get(session.url).text  # the flow is done


def test_subscription_update_confirm_flow_opens_the_confirmation(legacy):
    basic, pro, other = _plans(legacy)
    subscription = subscribe(legacy, basic.id)
    item_id = subscription["items"].data[0].id
    flow = {
        "type": "subscription_update_confirm",
        "subscription_update_confirm": {
            "subscription": subscription.id,
            "items": [{"id": item_id, "price": pro.id}],
        },
        "after_completion": {
            "type": "hosted_confirmation",
            "hosted_confirmation": {"custom_message": "Done!"},
        },
    }
    session = legacy.v1.billing_portal.sessions.create({"customer": subscription.customer, "flow_data": flow})
    assert session.flow.subscription_update_confirm.items[0].price == pro.id

    page = httpx.get(session.url).text
    assert "Confirm your new plan" in page and "Pro" in page
    done = httpx.post(f"{_origin(session)}{_form_action(page, 'confirm')}", data={})
    assert done.status_code == 200 and "Done!" in done.text
    assert legacy.v1.subscriptions.retrieve(subscription.id)["items"].data[0].price.id == pro.id

    flow["subscription_update_confirm"]["items"] = [{"id": item_id, "price": other.id}]
    with pytest.raises(stripe.InvalidRequestError) as info:
        legacy.v1.billing_portal.sessions.create({"customer": subscription.customer, "flow_data": flow})
    assert info.value.param == "flow_data[subscription_update_confirm][items][0][price]"


def test_flows_are_checked_against_the_customer_and_the_configuration(legacy):
    basic, _, _ = _plans(legacy)
    mine = subscribe(legacy, basic.id)
    theirs = subscribe(legacy, basic.id)
    disabled = legacy.v1.billing_portal.configurations.create(
        {"features": {"subscription_update": {"enabled": False}}}
    )
    cases = [
        ({"type": "subscription_update", "subscription_update": {"subscription": theirs.id}}, None),
        ({"type": "subscription_update"}, None),
        ({"type": "subscription_update", "subscription_update": {"subscription": mine.id}}, disabled.id),
        ({"type": "teleport"}, None),
    ]
    for flow, configuration in cases:
        params = {"customer": mine.customer, "flow_data": flow}
        if configuration:
            params["configuration"] = configuration
        with pytest.raises(stripe.InvalidRequestError):
            legacy.v1.billing_portal.sessions.create(params)


def test_configuration_products_limit_what_is_offered(legacy):
    basic, pro, _ = _plans(legacy)
    subscription = subscribe(legacy, basic.id)
    prod = legacy.v1.prices.retrieve(basic.id).product
    configuration = legacy.v1.billing_portal.configurations.create(
        {
            "features": {
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price"],
                    "proration_behavior": "always_invoice",
                    "products": [{"product": prod, "prices": [basic.id]}],
                }
            }
        }
    )
    session = legacy.v1.billing_portal.sessions.create(
        {"customer": subscription.customer, "configuration": configuration.id}
    )
    assert f"update-{subscription.id}" not in httpx.get(session.url).text  # nothing else to switch to
    legacy.v1.billing_portal.configurations.update(
        configuration.id,
        {
            "features": {
                "subscription_update": {"products": [{"product": prod, "prices": [basic.id, pro.id]}]}
            }
        },
    )
    confirm = httpx.get(
        f"{_origin(session)}/p/session/{session.id}/subscriptions/{subscription.id}/update/{pro.id}"
    )
    assert "Amount due today" in confirm.text  # always_invoice: the proration is charged at once


def test_portal_session_in_basil_has_the_flow_too(emulator):
    modern = emulator.client(version=LATEST)
    subscription = subscribe(modern, recurring_price(modern, unit_amount=5).id)
    session = modern.v1.billing_portal.sessions.create(
        {
            "customer": subscription.customer,
            "flow_data": {
                "type": "subscription_cancel",
                "subscription_cancel": {"subscription": subscription.id},
            },
        }
    )
    assert session.flow.subscription_cancel.subscription == subscription.id
    page = httpx.get(session.url).text
    assert "Cancel your plan" in page and "at the end of the period" in page


def test_portal_session_needs_an_existing_customer(legacy):
    with pytest.raises(stripe.InvalidRequestError) as info:
        legacy.v1.billing_portal.sessions.create({"customer": "cus_nope"})
    assert info.value.http_status == 404
    assert info.value.param == "customer"
