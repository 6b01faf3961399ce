"""A metered price swap mid-period: the usage before and after it ends up billed as Stripe bills it.

The customer is on metered price A (our meter "calls A"), switches to price B (meter "calls B") through the
plan-change service, and keeps calling. Stripe keeps the subscription item (and its id):
- legacy usage records stay on the item and the period's records are billed at its end at B's price, so A's
  hours before the swap (also the one not reported yet when the swap came) and B's from the swap on all
  count, on the one item;
- a Billing Meter price bills its meter's usage from the swap on only, so B reports from the swap and A,
  swapped away, sends nothing more.
The hour in which the swap happened is B's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from portal_api.accounts.models import User
from portal_api.billing import plan_changes
from portal_api.billing import service as billing
from portal_api.main import services_of
from portal_api.metering.meters.metrics import ChargeBy
from portal_api.metering.meters.schemas import MeterCreate
from portal_api.metering.meters.service import create_meter
from portal_api.reporting import invoices
from portal_api.reporting.models import UsageReport
from stripe_emulator.testing import EmulatorServer
from tests.api.reporting.world import HOUR, Customer, World
from tests.fixtures.emulator import BASIL, LEGACY


async def catalog(world: World) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Metered prices A ($0.02 a call) and B ($0.05 a call) of one product, and our meter of each."""
    product = world.stripe.v1.products.create({"name": "Swap API"})
    prices: dict[str, dict[str, Any]] = {}
    for name, amount in (("A", 2), ("B", 5)):
        recurring: dict[str, Any] = {"interval": "month", "usage_type": "metered"}
        if world.meters_api:
            meter = world.stripe.v1.billing.meters.create(
                {
                    "display_name": f"calls {name}",
                    "event_name": f"calls_{name.lower()}_{uuid.uuid4().hex[:6]}",
                    "default_aggregation": {"formula": "sum"},
                }
            )
            recurring["meter"] = meter.id
        else:
            recurring["aggregate_usage"] = "sum"
        prices[name] = world.stripe.v1.prices.create(
            {"product": product.id, "currency": "usd", "unit_amount": amount, "recurring": recurring}
        ).to_dict()
    services = services_of(world.app)
    gateway = await services.stripe.gateway()
    meters = {}
    for name, price in prices.items():
        made = await create_meter(
            services.database,
            services.settings,
            gateway,
            MeterCreate(
                name=f"calls {name}",
                stripe_price_id=price["id"],
                metric={"type": "event_count"},
                charge_by=ChargeBy.SUM,
            ),
        )
        meters[name] = made.id
    return prices, meters


async def subscribe(world: World, price_id: str) -> tuple[Customer, str]:
    email = f"swap-{uuid.uuid4().hex[:8]}@example.com"
    database = services_of(world.app).database
    async with database.write() as session:
        user = User(email=email, name="Swapper", password_hash="not-a-login")
        session.add(user)
        await session.flush()
        user_id = user.id
    stripe_customer = world.stripe.v1.customers.create({"email": email, "metadata": {"user_id": user_id}})
    subscription = world.stripe.v1.subscriptions.create(
        {"customer": stripe_customer.id, "items": [{"price": price_id}]}
    )
    data = await (await services_of(world.app).stripe.gateway()).retrieve_subscription(subscription.id)
    async with database.write() as session:
        await billing.link_customer(session, user_id, stripe_customer.to_dict())
        await billing.sync_subscription(session, data, user_id=user_id)
    item_id = data["items"]["data"][0]["id"]
    customer = Customer(user_id, stripe_customer.id, subscription.id, {ChargeBy.SUM: item_id})
    world.customers.append(customer)
    return customer, item_id


async def switch(world: World, customer: Customer, price_id: str) -> None:
    """The customer switches plan through the API's plan-change service, at the world's (virtual) time."""
    services = services_of(world.app)
    async with services.database.read() as session:
        user = await session.get(User, customer.user_id)
    assert user is not None
    await plan_changes.change_plan(
        services.database,
        await services.stripe.gateway(),
        services.settings,
        user=user,
        price_id=price_id,
        proration="create_prorations",
        now=world.now,
    )


async def ledger(world: World, meter_id: str) -> list[UsageReport]:
    async with services_of(world.app).database.read() as session:
        rows = await session.scalars(
            select(UsageReport).where(UsageReport.meter_id == meter_id).order_by(UsageReport.hour)
        )
        return list(rows)


def hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def world(app: Any, emulator: EmulatorServer, stripe_version: str) -> World:
    return World(app, emulator, meters_api=stripe_version >= BASIL, modes=())


@pytest.mark.parametrize("stripe_version", [LEGACY, BASIL])
async def test_usage_before_and_after_a_metered_swap_is_billed_as_stripe_bills_it(
    world: World, stripe_version: str
) -> None:
    prices, meters = await catalog(world)
    customer, item_id = await subscribe(world, prices["A"]["id"])
    h1 = hour_start(world.now) + 2 * HOUR
    h2, h3, h4 = h1 + HOUR, h1 + 2 * HOUR, h1 + 3 * HOUR

    world.advance_to(h1 + timedelta(minutes=30))
    await world.use(customer, h1, 10, minute=29)
    world.advance_to(h2 + timedelta(minutes=5))
    assert (await world.report()).sent == 1  # A's h1 reported; nothing of B yet
    world.advance_to(h2 + timedelta(minutes=30))
    await world.use(customer, h2, 7, minute=29)  # A's last hour: not reported before the swap
    world.advance_to(h3 + timedelta(minutes=10))
    await world.use(customer, h3, 3, minute=9)  # before the swap, in the hour it happens: B's
    world.advance_to(h3 + timedelta(minutes=20))
    await switch(world, customer, prices["B"]["id"])
    world.advance_to(h3 + timedelta(minutes=40))
    await world.use(customer, h3, 4, minute=39)
    world.advance_to(h4 + timedelta(minutes=30))
    await world.use(customer, h4, 6, minute=29)
    world.advance_to(h4 + HOUR + timedelta(minutes=5))

    result = await world.report()

    assert result.failed == result.rejected == 0, result.errors
    a_rows, b_rows = await ledger(world, meters["A"]), await ledger(world, meters["B"])
    assert {r.subscription_item_id for r in a_rows + b_rows} == {item_id}  # one item, its id kept
    assert [(r.hour, r.quantity_milli) for r in b_rows] == [(h3, 7000), (h4, 6000)]
    swap = int((h3 + timedelta(minutes=20)).timestamp())
    assert b_rows[0].report_timestamp > swap  # stamped after the swap: Stripe bills it on B
    if world.meters_api:
        assert [(r.hour, r.quantity_milli) for r in a_rows] == [(h1, 10000)]  # A sends nothing more
        expected_quantity = 7 + 6  # a meter price bills usage from the swap on
    else:
        assert [(r.hour, r.quantity_milli) for r in a_rows] == [(h1, 10000), (h2, 7000)]
        expected_quantity = 10 + 7 + 7 + 6  # every record of the period on the item, at B's price

    services = services_of(world.app)
    async with services.database.read() as session:
        user = await session.get(User, customer.user_id)
    assert user is not None
    shown = await invoices.upcoming_invoice(services.database, services.stripe, user)
    assert [line.quantity for line in shown.stripe.lines] == [expected_quantity]  # Stripe's preview
    assert [(line.price_id, line.quantity) for line in shown.estimate.lines] == [
        (prices["B"]["id"], expected_quantity)  # what the dashboard estimates: the same
    ]
    assert shown.estimate.amount == shown.stripe.amount_due == expected_quantity * prices["B"]["unit_amount"]

    period_end = world.subscription(customer)["end"]
    world.advance_to(datetime.fromtimestamp(period_end, UTC) + timedelta(minutes=1))
    invoice = next(
        i
        for i in world.stripe.v1.invoices.list({"subscription": customer.subscription_id}).data
        if i.billing_reason == "subscription_cycle"
    )
    (line,) = invoice.lines.data  # the one metered item; metered prices are never prorated
    assert int(line.quantity) == expected_quantity
    assert line.amount == expected_quantity * prices["B"]["unit_amount"]
