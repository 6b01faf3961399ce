"""Late usage and billing periods: corrections for reported hours, the hour crossing a period end, usage that
arrives after Stripe has closed its period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal_api.main import services_of
from portal_api.metering.meters.metrics import ChargeBy
from portal_api.reporting.models import ReportStatus, UsageReport
from stripe_emulator.testing import EmulatorServer
from tests.api.reporting.world import HOUR, MODES, World, fast_reporting
from tests.fixtures.emulator import BASIL, LEGACY


async def ledger(world: World, item_id: str) -> list[UsageReport]:
    async with services_of(world.app).database.write_factory() as session:
        rows = await session.scalars(
            select(UsageReport)
            .where(UsageReport.subscription_item_id == item_id)
            .order_by(UsageReport.hour, UsageReport.revision)
        )
        return list(rows)


def start_of_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@pytest.mark.parametrize("stripe_version", [LEGACY, BASIL])
async def test_late_usage_for_a_reported_hour_goes_to_stripe_as_a_correction(
    world: World, stripe_version: str
) -> None:
    [customer] = await world.add_customers(1)
    h0 = start_of_hour(world.now)
    world.advance_to(h0 + timedelta(minutes=45))
    await world.use(customer, h0, 2, minute=44)
    world.advance_to(h0 + HOUR + timedelta(minutes=45))
    await world.use(customer, h0 + HOUR, 4, minute=44)
    world.advance_to(h0 + 2 * HOUR + timedelta(minutes=1))
    first = await world.report()
    assert (first.sent, first.corrections) == (8, 0)

    await world.use(customer, h0, 5, minute=50)  # arrives an hour late: h0 now holds 7 calls
    second = await world.report()

    assert second.corrections >= len(MODES)
    for mode in MODES:
        assert world.stripe_quantity(customer, mode) == world.expected(customer, mode), mode
    assert world.expected(customer, ChargeBy.SUM) == 11 and world.expected(customer, ChargeBy.MAX) == 7
    sums = [r for r in await ledger(world, customer.items[ChargeBy.SUM]) if r.hour == h0]
    assert [(r.revision, r.action, r.quantity_milli, r.status) for r in sums] == [
        (0, "increment", 2000, ReportStatus.SENT),
        (1, "increment", 5000, ReportStatus.SENT),  # the delta, not the hour again
    ]
    assert sums[0].idempotency_key != sums[1].idempotency_key
    maxes = await ledger(world, customer.items[ChargeBy.MAX])
    # Usage records: h0's record is set again to 7 (Stripe takes the max). A meter (formula last) is fed the
    # running maximum, so the latest hour is re-sent with 7 as well.
    corrected = {(r.hour, r.target_milli) for r in maxes if r.revision == 1}
    assert (h0, 7000) in corrected
    assert ((h0 + HOUR, 7000) in corrected) is world.meters_api


@pytest.mark.parametrize("stripe_version", [LEGACY, BASIL])
async def test_the_hour_crossing_a_period_end_is_billed_in_the_new_period_and_late_usage_after_it(
    world: World, stripe_version: str
) -> None:
    [customer] = await world.add_customers(1)
    period = world.subscription(customer)
    period_end = datetime.fromtimestamp(period["end"], UTC)
    crossing = start_of_hour(period_end)  # starts in the old period, ends in the new one
    before = crossing - 2 * HOUR  # wholly inside the old period
    assert crossing < period_end < crossing + HOUR

    world.advance_to(before + timedelta(minutes=30))
    await world.use(customer, before, 6, minute=29)
    world.advance_to(before + HOUR + timedelta(minutes=1))
    await world.report()
    world.advance_to(crossing + (period_end - crossing) / 2)
    await world.ingest_calls([(customer, world.now, 3)], now=world.now)
    world.advance_to(period_end + (crossing + HOUR - period_end) / 2)
    await world.ingest_calls([(customer, world.now, 2)], now=world.now)
    world.advance_to(crossing + HOUR + timedelta(minutes=2))

    result = await world.report()  # Stripe rolled the period over meanwhile; our mirror is refreshed
    assert result.failed == result.rejected == 0, result.errors

    invoice = next(
        i
        for i in world.stripe.v1.invoices.list({"subscription": customer.subscription_id}).data
        if i.billing_reason == "subscription_cycle"
    )
    billed = {line.subscription_item: line.quantity for line in invoice.lines.data}
    unit = world.prices[ChargeBy.SUM]["unit_amount"]
    assert billed[customer.items[ChargeBy.SUM]] == 6  # the old period: only the hour that ended inside it
    assert invoice.amount_due == unit * (6 + 6 + 6 + 6)  # sum, last, last_ever, max: all 6
    for mode in MODES:
        assert world.stripe_quantity(customer, mode) == 5, mode  # the crossing hour, in the new period

    # Late usage for the old period's hour, after Stripe invoiced it: a sum carries it into the new period,
    # last/max cannot change a closed invoice (skipped, on record), last_ever keeps the latest value.
    await world.ingest_calls([(customer, before + timedelta(minutes=50), 4)], now=world.now)
    late = await world.report()
    assert late.failed == late.rejected == 0, late.errors
    assert world.stripe_quantity(customer, ChargeBy.SUM) == 9
    assert world.stripe_quantity(customer, ChargeBy.MAX) == 5
    assert world.stripe_quantity(customer, ChargeBy.LAST) == 5
    assert world.stripe_quantity(customer, ChargeBy.LAST_EVER) == 5
    carried = [r for r in await ledger(world, customer.items[ChargeBy.SUM]) if r.hour == before][-1]
    assert carried.carried and carried.report_timestamp == int(period_end.timestamp())
    assert carried.quantity_milli == 4000 and carried.status == ReportStatus.SENT
    skipped = [r for r in await ledger(world, customer.items[ChargeBy.MAX]) if r.hour == before][-1]
    assert skipped.status == ReportStatus.SKIPPED and "closed period" in (skipped.last_error or "")


@pytest.mark.parametrize("stripe_version", [LEGACY, BASIL])
async def test_last_ever_carries_the_previous_value_into_a_period_without_usage(
    world: World, stripe_version: str
) -> None:
    [customer] = await world.add_customers(1)
    period_end = datetime.fromtimestamp(world.subscription(customer)["end"], UTC)
    hour = start_of_hour(period_end) - 3 * HOUR
    world.advance_to(hour + timedelta(minutes=20))
    await world.use(customer, hour, 8, minute=19)
    world.advance_to(hour + HOUR + timedelta(minutes=1))
    await world.report()

    world.advance_to(period_end + 2 * HOUR)  # a new period, no usage in it yet
    result = await world.report()

    assert result.failed == result.rejected == 0, result.errors
    assert world.stripe_quantity(customer, ChargeBy.LAST_EVER) == Decimal(8)
    assert world.stripe_quantity(customer, ChargeBy.LAST) == 0
    assert world.stripe_quantity(customer, ChargeBy.SUM) == 0


async def test_a_set_correction_waits_for_the_earlier_revision_of_its_hour(
    world: World, emulator: EmulatorServer
) -> None:
    [customer] = await world.add_customers(1)
    hour = start_of_hour(world.now)
    world.advance_to(hour + timedelta(minutes=40))
    await world.use(customer, hour, 2, minute=39)
    world.advance_to(hour + HOUR + timedelta(minutes=1))
    world.use_reporting(fast_reporting(reporting_max_attempts=1))
    last_item = customer.items[ChargeBy.LAST]
    emulator.add_fault(f"/v1/subscription_items/{last_item}/usage_records", "error", method="POST", count=1)
    await world.report()  # revision 0 of the hour fails (Stripe has nothing yet)
    await world.use(customer, hour, 3, minute=45)  # late: the hour is 5 now

    second = await world.report()  # plans revision 1; revision 0 goes first, revision 1 waits for it
    rows = [r for r in await ledger(world, last_item) if r.hour == hour]
    assert [(r.revision, r.status) for r in rows] == [(0, ReportStatus.SENT), (1, ReportStatus.PENDING)]
    assert second.failed == 0
    assert world.stripe_quantity(customer, ChargeBy.LAST) == 2

    await world.report()
    assert world.stripe_quantity(customer, ChargeBy.LAST) == 5  # the later value is the one Stripe keeps
