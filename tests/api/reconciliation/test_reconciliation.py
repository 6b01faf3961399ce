"""The daily reconciliation repairs drift from webhooks that never arrived, and records what it did."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import delete

from portal_api.billing.models import Customer, Subscription
from portal_api.jobs import register_jobs
from portal_api.main import services_of
from portal_api.reconciliation.jobs import RECONCILE_JOB_ID
from portal_api.reconciliation.models import ReconciliationRun
from tests.api.checkout.flow import complete, pay_on_hosted_page, rows, start_checkout, subscribe
from tests.fixtures.keys import verify_key
from tests.fixtures.members import ADMIN, Member, sign_up


async def run_now(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.post("/v1/admin/reconciliation-runs", headers=ADMIN)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def provision(api: httpx.AsyncClient, member: Member, price_id: str) -> dict[str, Any]:
    """Sign-up's next steps: checkout, pay, complete (subscription synced, first key issued)."""
    response = await complete(api, member, await subscribe(api, member, price_id))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_subscription_canceled_in_stripe_without_its_webhook_is_canceled_locally_and_its_key_refused(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], stripe_sdk: Any
) -> None:
    member = await sign_up(api, "ada@example.com")
    provisioned = await provision(api, member, catalog["prices"]["package"])
    secret = provisioned["key"]["secret"]
    subscription_id = provisioned["subscription"]["id"]
    assert (await verify_key(api, secret))["valid"] is True  # the verdict is now cached
    stripe_sdk.v1.subscriptions.cancel(subscription_id)  # its webhook is never delivered
    assert (await verify_key(api, secret))["valid"] is True  # the drift: we still think it is active

    run = await run_now(api)

    [row] = await rows(app, Subscription, stripe_subscription_id=subscription_id)
    assert row.status == "canceled" and row.canceled_at is not None
    verdict = await verify_key(api, secret)
    assert verdict["valid"] is False and verdict["subscription_status"] == "canceled"
    assert run["checked"] == 1 and run["repaired"] == 1 and run["errors"] == []
    assert run["finished_at"] is not None

    again = await run_now(api)  # nothing left to repair
    assert again["checked"] == 1 and again["repaired"] == 0


async def test_subscription_missing_locally_is_created_from_stripe(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], stripe_sdk: Any
) -> None:
    member = await sign_up(api, "bea@example.com")
    checkout = await start_checkout(api, member, catalog["prices"]["payg"])  # links the Stripe customer
    await pay_on_hosted_page(checkout["url"])  # paid, but neither the return call nor a webhook arrived
    [customer] = await rows(app, Customer, user_id=member.id)
    [remote] = stripe_sdk.v1.subscriptions.list({"customer": customer.stripe_customer_id}).data
    assert await rows(app, Subscription, user_id=member.id) == []

    run = await run_now(api)

    [row] = await rows(app, Subscription, user_id=member.id)
    assert row.stripe_subscription_id == remote.id and row.status == "active"
    assert row.price_id == catalog["prices"]["payg"] and row.product_name == "My API"
    assert [item.stripe_item_id for item in row.items] == [remote["items"].data[0].id]
    assert run["repaired"] == 1 and run["errors"] == []
    shown = (await api.get("/v1/subscription", headers=member.headers)).json()
    assert shown["id"] == remote.id and shown["status"] == "active"


async def test_unknown_stripe_ids_are_recorded_as_run_errors_and_the_run_goes_on(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], stripe_sdk: Any
) -> None:
    member = await sign_up(api, "cy@example.com")
    provisioned = await provision(api, member, catalog["prices"]["package"])
    ghost = await sign_up(api, "ghost@example.com")
    async with services_of(app).database.write_factory() as session:
        [customer] = await rows(app, Customer, user_id=member.id)
        session.add(
            Subscription(
                user_id=member.id,
                stripe_customer_id=customer.stripe_customer_id,
                stripe_subscription_id="sub_nosuchsubscription",
                status="active",
            )
        )
        session.add(Customer(user_id=ghost.id, stripe_customer_id="cus_nosuchcustomer"))
        await session.commit()
    stripe_sdk.v1.subscriptions.update(provisioned["subscription"]["id"], {"cancel_at_period_end": True})

    run = await run_now(api)

    assert sorted((e["object"], e["code"]) for e in run["errors"]) == [
        ("cus_nosuchcustomer", "unknown_customer"),
        ("sub_nosuchsubscription", "unknown_subscription"),
    ]
    [repaired] = await rows(app, Subscription, stripe_subscription_id=provisioned["subscription"]["id"])
    assert repaired.cancel_at_period_end is True  # the other drift of that customer was still repaired
    [ghost_sub] = await rows(app, Subscription, stripe_subscription_id="sub_nosuchsubscription")
    assert ghost_sub.status == "active"  # recorded, never "repaired" on a guess
    listed = await api.get("/v1/admin/reconciliation-runs", headers=ADMIN)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["data"]] == [run["id"]]
    [stored] = await rows(app, ReconciliationRun, id=run["id"])
    assert stored.repaired == run["repaired"] == 1 and stored.checked == 2  # the unknown customer: none


async def test_daily_reconciliation_is_registered_with_the_jobs(app: Any) -> None:
    services = services_of(app)
    register_jobs(services)
    trigger, args = services.jobs.trigger_of(RECONCILE_JOB_ID)
    assert trigger == "cron" and (args["hour"], args["minute"]) == (3, 30)


async def test_a_run_with_no_customers_records_an_empty_report(api: httpx.AsyncClient, app: Any) -> None:
    async with services_of(app).database.write_factory() as session:
        await session.execute(delete(Customer))
        await session.commit()
    run = await run_now(api)
    assert (run["checked"], run["repaired"], run["errors"]) == (0, 0, [])
    [stored] = await rows(app, ReconciliationRun, id=run["id"])
    assert stored.finished_at is not None and stored.finished_at >= stored.started_at
