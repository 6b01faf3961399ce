"""The Meter Test: is a meter wired end to end, from an API call to the amount on the next invoice?

With a test-mode key (sk_test_/rk_test_) it never touches a real customer: a synthetic call that the meter's
filters accept is sent for the Meter Test's own customer (a system user, see accounts/system_users.py) and
reported to that customer's own subscription to the meter's price, made in Stripe test mode on first need and
reused afterwards (meter_test_customer.py). Checks, in order, each stopping the test with a clear reason:
1. stripe_connection - the effective Stripe key works (the meter's price is retrieved);
2. price - the price can bill this meter (recurring, metered, aggregated as the meter charges);
3. event - the synthetic event (derived from the filters, or the admin's) is one the filters accept;
4. subscription - the Meter Test's customer and its subscription to the price, billable in Stripe;
5. test_event - the event, ingested through the metering pipeline, is counted for that customer;
6. report - the reporter sends that item's usage (the current hour included) without failures, and the
   run's ledger rows are that item's only: no real customer's item is reported;
7. invoice_preview - our amount (pricing math on what the ledger put in Stripe) equals the amount on
   Stripe's upcoming invoice of the test subscription; the difference is shown in minor units;
8. usage_reported - everything our rollups hold for this period has reached Stripe.

With any other key (live mode) nothing is created or sent: the checks compare an existing subscription's
upcoming invoice with what the hourly report already put in Stripe (test_event and report say "skipped").
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select

from portal_api.accounts.system_users import METER_TEST_USER_ID, SYSTEM_USER_IDS
from portal_api.billing import service as billing
from portal_api.billing.models import Subscription, SubscriptionItem
from portal_api.billing_provider.config import StripeConfig
from portal_api.billing_provider.connection import StripeConnection
from portal_api.config import Settings
from portal_api.db import Database, utcnow
from portal_api.errors import NotFound, PortalError, Unprocessable
from portal_api.keys.verify import KeyVerifier
from portal_api.metering.events import METER_TEST_SOURCE, NormalizedEvent, digest, lower_headers, route_of
from portal_api.metering.ingest import ingest
from portal_api.metering.meters.filters import AndGroup, Condition, OrGroup
from portal_api.metering.meters.matching_event import MeterTestEvent, NoMatchingEvent, event_matching, unmet
from portal_api.metering.meters.metrics import ChargeBy, metric_adapter
from portal_api.metering.meters.price_check import check_price
from portal_api.metering.meters.service import get_meter
from portal_api.metering.meters.validation import parse_filters
from portal_api.metering.models import Meter, UsageRollup
from portal_api.metering.rollups import hour_of
from portal_api.reporting import estimate
from portal_api.reporting.invoice_lines import find_line, fresh_invoice_preview, line_quantity
from portal_api.reporting.meter_test_customer import MeterTestSubscription, ensure_test_subscription
from portal_api.reporting.models import UsageReport
from portal_api.reporting.reporter import UsageReporter
from portal_api.reporting.schemas import (
    Check,
    MeterTestEventOut,
    MeterTestIn,
    MeterTestOut,
    OurSide,
    StripeSide,
    SyntheticEventOut,
)
from portal_api.reporting.targets import REPORTABLE_STATUSES
from portal_api.stripe_client import StripeAuthFailed, StripeGateway

TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")


def key_mode(config: StripeConfig) -> Literal["test", "live"]:
    """Test mode only for a key that says so; anything else is treated as live (nothing is sent)."""
    return "test" if config.api_key.get_secret_value().startswith(TEST_KEY_PREFIXES) else "live"


def meter_filters(meter: Meter) -> AndGroup | OrGroup | Condition | None:
    return parse_filters(json.loads(meter.filters) if meter.filters else None)


def derived_event(meter: Meter) -> MeterTestEvent:
    """An event of the Meter Test's customer that the meter's filters accept; NoMatchingEvent if none can."""
    metric = metric_adapter.validate_python(json.loads(meter.metric))
    return event_matching(meter_filters(meter), user_id=METER_TEST_USER_ID, metric=metric)


async def test_event_for(database: Database, meter_id: str) -> MeterTestEventOut:
    """GET /v1/admin/meters/{id}/test-event: what the Meter Test would send (the console shows it)."""
    async with database.read() as session:
        meter = await get_meter(session, meter_id)  # 404 meter_not_found
    try:
        return MeterTestEventOut(
            meter_id=meter.id, event=SyntheticEventOut.of(derived_event(meter)), reason=None
        )
    except NoMatchingEvent as exc:
        return MeterTestEventOut(meter_id=meter.id, event=None, reason=str(exc))


class _Stop(Exception):
    """A check failed: the test ends here with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MeterTest:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        reporter: UsageReporter,
        stripe: StripeConnection,
        keys: KeyVerifier,
    ) -> None:
        self.keys = keys
        self.database = database
        self.settings = settings
        self.reporter = reporter
        self.stripe = stripe
        self.checks: list[Check] = []

    def _ok(self, name: str, detail: str) -> None:
        self.checks.append(Check(name=name, ok=True, detail=detail))

    def _fail(self, name: str, detail: str) -> _Stop:
        self.checks.append(Check(name=name, ok=False, detail=detail))
        return _Stop(detail)

    async def run(self, meter_id: str, body: MeterTestIn) -> MeterTestOut:
        async with self.database.read() as session:
            meter = await get_meter(session, meter_id)  # 404 meter_not_found
        config = await self.stripe.config()
        mode = key_mode(config)
        if mode == "test" and body.subscription_id:
            raise Unprocessable(
                "subscription_id is for live mode only: with a test key the Meter Test uses its own "
                "customer and subscription",
                code="subscription_id_live_only",
            )
        out = MeterTestOut(
            passed=False,
            reason=None,
            meter_id=meter.id,
            price_id=meter.stripe_price_id,
            api_version=config.api_version,
            mode=mode,
            checks=self.checks,
        )
        try:
            await self._run(meter, config, body, out)
        except _Stop as stop:
            out.reason = stop.reason
        out.checks = list(self.checks)
        out.passed = out.reason is None and all(c.ok for c in self.checks)
        return out

    async def _run(self, meter: Meter, config: StripeConfig, body: MeterTestIn, out: MeterTestOut) -> None:
        gateway = self.stripe.gateway_for(config)
        price = await self._check_connection(gateway, config, meter)
        await self._check_price(gateway, config, meter)
        out.currency = price.get("currency")
        event = self._check_event(meter, body, live=out.mode == "live")
        out.event = SyntheticEventOut.of(event)
        if out.mode == "live":
            subscription, item_id = await self._check_subscription(gateway, meter, body)
            out.subscription_id = subscription.stripe_subscription_id
            out.subscription_item_id = item_id
            out.customer_id = subscription.stripe_customer_id
            why = "live mode: the Meter Test sends nothing with a live key (it would bill a real customer)"
            self._ok("test_event", f"skipped ({why})")
            self._ok("report", "skipped (live mode): comparing what the hourly report already sent")
            await self._compare(gateway, meter, price, subscription, item_id, out)
            return
        test = await self._check_test_subscription(gateway, meter)
        subscription, item_id = test.subscription, test.item_id
        out.subscription_id = subscription.stripe_subscription_id
        out.subscription_item_id = item_id
        out.customer_id = subscription.stripe_customer_id
        await self._send_test_event(meter, event)
        await self._report(meter, subscription, item_id, out)
        await self._compare(gateway, meter, price, subscription, item_id, out)

    async def _check_connection(
        self, gateway: StripeGateway, config: StripeConfig, meter: Meter
    ) -> dict[str, Any]:
        last4 = config.api_key.get_secret_value()[-4:]
        try:
            price = await gateway.retrieve_price(meter.stripe_price_id)
        except StripeAuthFailed:
            raise self._fail(
                "stripe_connection",
                f"Stripe rejected the API key ending in {last4} ({config.source} settings); "
                "check the secret key",
            ) from None
        except NotFound:
            self._ok("stripe_connection", f"connected to Stripe (API {config.api_version})")
            raise self._fail(
                "price", f"Stripe has no price {meter.stripe_price_id}: the meter's price is wrong"
            ) from None
        except PortalError as exc:
            raise self._fail("stripe_connection", f"Stripe did not answer: {exc.message}") from None
        self._ok("stripe_connection", f"connected to Stripe (API {config.api_version}, key ...{last4})")
        return price

    async def _check_price(self, gateway: StripeGateway, config: StripeConfig, meter: Meter) -> None:
        try:
            checked = await check_price(
                gateway,
                config.api_version,
                price_id=meter.stripe_price_id,
                product_id=meter.stripe_product_id or None,
                charge_by=ChargeBy(meter.charge_by),
            )
        except PortalError as exc:
            raise self._fail("price", f"wrong price: {exc.message}") from None
        recurring = checked.price.get("recurring") or {}
        how = (
            f"Billing Meter {recurring['meter']}"
            if recurring.get("meter")
            else (f"usage records, aggregate_usage {recurring.get('aggregate_usage') or 'sum'}")
        )
        self._ok("price", f"{meter.stripe_price_id} is metered and bills {meter.charge_by} ({how})")

    async def _check_subscription(
        self, gateway: StripeGateway, meter: Meter, body: MeterTestIn
    ) -> tuple[Subscription, str]:
        """Live mode: an existing subscription with the price (a real customer's), read and compared only."""
        price_id = meter.stripe_price_id
        real = Subscription.user_id.not_in(sorted(SYSTEM_USER_IDS))
        async with self.database.read() as session:
            if body.subscription_id:
                subscription = await session.scalar(
                    select(Subscription).where(
                        Subscription.stripe_subscription_id == body.subscription_id, real
                    )
                )
                if subscription is None:
                    raise self._fail("subscription", f"We know no subscription {body.subscription_id}")
                prices = [i.price_id for i in subscription.items]
                if price_id not in prices:
                    raise self._fail(
                        "subscription",
                        f"wrong price: subscription {body.subscription_id} has "
                        f"{', '.join(prices) or 'no items'}, "
                        f"not the meter's price {price_id}",
                    )
            else:
                subscription = await session.scalar(
                    select(Subscription)
                    .join(SubscriptionItem, SubscriptionItem.subscription_id == Subscription.id)
                    .where(
                        SubscriptionItem.price_id == price_id,
                        Subscription.status.in_(REPORTABLE_STATUSES),
                        real,
                    )
                    .order_by(Subscription.created_at.desc())
                    .limit(1)
                )
                if subscription is None:
                    raise self._fail(
                        "subscription",
                        f"No active subscription has the meter's price {price_id}: in live mode the Meter "
                        "Test sends nothing and compares an existing subscription's invoice (or pass "
                        "subscription_id); to send a test call, use a test-mode key",
                    )
        try:
            stripe_subscription = await gateway.retrieve_subscription(subscription.stripe_subscription_id)
        except NotFound:
            raise self._fail(
                "subscription", f"Stripe has no subscription {subscription.stripe_subscription_id} any more"
            ) from None
        items = (stripe_subscription.get("items") or {}).get("data") or []
        item = next((i for i in items if (i.get("price") or {}).get("id") == price_id), None)
        status = stripe_subscription.get("status")
        async with self.database.write() as session:
            synced = await billing.sync_subscription(session, stripe_subscription)
            if synced is not None:
                subscription = synced
        if status not in REPORTABLE_STATUSES:
            raise self._fail(
                "subscription", f"Stripe says subscription {subscription.stripe_subscription_id} is {status}"
            )
        if item is None:
            raise self._fail(
                "subscription",
                f"wrong price: in Stripe, subscription {subscription.stripe_subscription_id} has no item "
                f"with {price_id}",
            )
        self._ok(
            "subscription",
            f"{subscription.stripe_subscription_id} ({status}) of customer "
            f"{subscription.stripe_customer_id}, item {item['id']} (live mode: read only)",
        )
        return subscription, str(item["id"])

    def _check_event(self, meter: Meter, body: MeterTestIn, *, live: bool) -> MeterTestEvent:
        """The admin's event, or one derived from the filters; it must be one the filters accept."""
        if body.event is None:
            try:
                event = derived_event(meter)
            except NoMatchingEvent as exc:
                raise self._fail("event", str(exc)) from None
            how = "derived from the filters"
        else:
            event = body.event
            problem = unmet(meter_filters(meter), event, METER_TEST_USER_ID)
            if problem is not None:
                raise self._fail(
                    "event", f"the event given does not match this meter's filters: it fails {problem}"
                )
            how = "as given"
        said = f"{event.method.upper()} {route_of(event.route)} -> {event.status or 'no status'}"
        detail = f"{said} ({how}) matches the meter's filters"
        self._ok("event", detail + (" (not sent in live mode)" if live else ""))
        return event

    async def _check_test_subscription(self, gateway: StripeGateway, meter: Meter) -> MeterTestSubscription:
        try:
            test = await ensure_test_subscription(self.database, gateway, meter.stripe_price_id)
        except PortalError as exc:
            raise self._fail(
                "subscription",
                f"Stripe refused the Meter Test's own customer or subscription: {exc.message}",
            ) from None
        subscription = test.subscription
        if subscription.status not in REPORTABLE_STATUSES:
            raise self._fail(
                "subscription",
                f"Stripe made the Meter Test's subscription {subscription.stripe_subscription_id} "
                f"{subscription.status}, not billable",
            )
        made = [
            what
            for what, created in (
                ("customer", test.customer_created),
                ("subscription", test.subscription_created),
            )
            if created
        ]
        self._ok(
            "subscription",
            f"the Meter Test's own subscription {subscription.stripe_subscription_id} "
            f"({subscription.status}, {' and '.join(made) + ' made now' if made else 'reused'}) of its test "
            "customer "
            f"{subscription.stripe_customer_id}, item {test.item_id}; it bills no real customer",
        )
        return test

    async def _send_test_event(self, meter: Meter, given: MeterTestEvent) -> None:
        now = utcnow()
        user_id = METER_TEST_USER_ID
        event = NormalizedEvent(
            index=0,
            dedupe_key=f"meter_test:{meter.id}:{uuid.uuid4().hex}",
            source=METER_TEST_SOURCE,
            occurred_at=now,
            method=given.method.upper(),
            route=route_of(given.route),
            status=given.status,
            weight=given.weight,
            external_user_id=user_id,
            company_id=given.company,
            session_key=digest(f"meter_test:{uuid.uuid4().hex}"),
            api_key_secret=None,
            request_headers=lower_headers(given.request_headers),
            response_headers=lower_headers(given.response_headers),
            metadata=dict(given.metadata),
        )
        before = await self._rollup(meter.id, user_id, hour_of(now))
        async with self.database.write() as session:
            result = await ingest(session, self.settings, self.keys, [event], [], received=1, now=now)
        if result.accepted != 1 or result.unattributed:
            raise self._fail("test_event", "the synthetic event was not stored for the Meter Test's customer")
        after = await self._rollup(meter.id, user_id, hour_of(now))
        if after == before:
            raise self._fail(
                "test_event",
                f"the synthetic event ({event.method} {event.route}) was stored but this meter did not count "
                "it (is the meter inactive?)",
            )
        self._ok(
            "test_event", f"one {event.method} {event.route} event counted for the Meter Test's customer"
        )

    async def _report(
        self, meter: Meter, subscription: Subscription, item_id: str, out: MeterTestOut
    ) -> None:
        """Report the test item's usage this period (the open hour too), and check the run reported nothing
        else: every ledger row the run planned or sent is the test item's."""
        since = hour_of(subscription.current_period_start) if subscription.current_period_start else None
        run = await self.reporter.run(
            kind="meter_test",
            subscription_item_ids=[item_id],
            meter_id=meter.id,
            include_open_hour=True,
            since=since,
        )
        out.run_id = run.run_id
        if run.status == "failed" or run.failed or run.rejected:
            first = run.errors[0]["error"] if run.errors else run.status
            raise self._fail("report", f"the reporter could not deliver this item's usage: {first}")
        async with self.database.read() as session:
            items = set(
                await session.scalars(
                    select(UsageReport.subscription_item_id)
                    .where(UsageReport.run_id == run.run_id)
                    .distinct()
                )
            )
        if items - {item_id}:
            raise self._fail(
                "report",
                f"the run also reported to {', '.join(sorted(items - {item_id}))}, not only the test item",
            )
        self._ok(
            "report",
            f"{run.sent} report(s) sent to the test subscription's item {item_id} and to no other item "
            f"({run.corrections} correction(s))",
        )

    async def _rollup(self, meter_id: str, user_id: str, hour: datetime) -> tuple[int, int]:
        async with self.database.read() as session:
            row = await session.get(UsageRollup, (meter_id, user_id, hour))
            return (row.events, row.value_milli) if row is not None else (0, 0)

    async def _compare(
        self,
        gateway: StripeGateway,
        meter: Meter,
        price: dict[str, Any],
        subscription: Subscription,
        item_id: str,
        out: MeterTestOut,
    ) -> None:
        start, end = subscription.current_period_start, subscription.current_period_end
        if start is None or end is None:
            raise self._fail("invoice_preview", "the subscription has no current period")
        charge_by = ChargeBy(meter.charge_by)
        async with self.database.read() as session:
            reported = await estimate.reported_quantity(session, item_id, meter.id, charge_by, start, end)
            usage = await estimate.period_usage(session, meter, subscription.user_id, start, end)
        ours = estimate.amount(price, reported)
        out.ours = OurSide(usage_quantity=usage, reported_quantity=reported, amount=ours)
        try:
            preview = await fresh_invoice_preview(
                gateway,
                subscription.stripe_customer_id,
                subscription.stripe_subscription_id,
                nonce=out.run_id or "",
            )
        except PortalError as exc:
            raise self._fail("invoice_preview", f"Stripe gave no invoice preview: {exc.message}") from None
        line = find_line(preview, subscription_item_id=item_id, price_id=meter.stripe_price_id)
        stripe_amount = int(line["amount"]) if line is not None else None
        out.stripe = StripeSide(
            quantity=line_quantity(line) if line is not None else None,
            amount=stripe_amount,
            amount_due=preview.get("amount_due"),
        )
        if line is None:
            raise self._fail("invoice_preview", f"Stripe's upcoming invoice has no line for item {item_id}")
        if ours is None:
            raise self._fail("invoice_preview", "our pricing math cannot price this price")
        out.difference = (stripe_amount or 0) - ours
        currency = (price.get("currency") or "").upper()
        if out.difference:
            raise self._fail(
                "invoice_preview",
                f"Stripe bills {stripe_amount} for quantity {out.stripe.quantity}, we expect {ours} for "
                f"{reported} ({currency} minor units): off by {out.difference}",
            )
        self._ok(
            "invoice_preview",
            f"Stripe's upcoming invoice bills {stripe_amount} {currency} minor units for "
            f"quantity {out.stripe.quantity}, as we compute",
        )
        if usage != reported:
            self.checks.append(
                Check(
                    name="usage_reported",
                    ok=False,
                    detail=f"our usage this period is {usage} but Stripe holds {reported} "
                    "(hours still to report, "
                    "or usage carried from the previous period)",
                )
            )
        else:
            self._ok("usage_reported", f"all of this period's usage ({usage}) is in Stripe")


async def run_meter_test(
    database: Database,
    settings: Settings,
    reporter: UsageReporter,
    stripe: StripeConnection,
    keys: KeyVerifier,
    meter_id: str,
    body: MeterTestIn,
) -> MeterTestOut:
    return await MeterTest(database, settings, reporter, stripe, keys).run(meter_id, body)


__all__ = ["MeterTest", "run_meter_test"]
