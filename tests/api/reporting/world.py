"""A billing world for reporting tests: Stripe prices per charge-by mode, meters, customers, usage, a clock.

Stripe objects are made in the emulator with the real SDK; our mirror of each subscription is written by the
billing service from Stripe's answer (as webhooks would); meters are created by the metering service (which
checks the prices in Stripe); usage goes through the metering ingest pipeline. The virtual clock keeps the
emulator's time and the `now` given to ingest and the reporter together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from portal_api.accounts.models import User
from portal_api.billing import service as billing
from portal_api.main import services_of
from portal_api.metering.ingest import ingest
from portal_api.metering.meters.metrics import ChargeBy
from portal_api.metering.meters.schemas import MeterCreate
from portal_api.metering.meters.service import create_meter
from portal_api.metering.usage.ingest_schemas import normalize_usage_event
from portal_api.reporting.reporter import RunResult, UsageReporter
from stripe_emulator.testing import EmulatorServer
from tests.fixtures.emulator import BASIL, LEGACY

MODES = (ChargeBy.SUM, ChargeBy.LAST, ChargeBy.LAST_EVER, ChargeBy.MAX)
LEGACY_AGGREGATE = {
    ChargeBy.SUM: "sum",
    ChargeBy.LAST: "last_during_period",
    ChargeBy.LAST_EVER: "last_ever",
    ChargeBy.MAX: "max",
}
METER_FORMULA = {ChargeBy.SUM: "sum", ChargeBy.LAST: "last", ChargeBy.LAST_EVER: "last", ChargeBy.MAX: "last"}
HOUR = timedelta(hours=1)


def fast_reporting(**overrides: Any) -> dict[str, Any]:
    """REPORTING_* values for tests: no settle delay, quick retries, short Stripe timeouts."""
    values: dict[str, Any] = {
        "reporting_settle_minutes": 0,
        "reporting_concurrency": 16,
        "reporting_retry_base_seconds": 0.002,
        "reporting_retry_max_seconds": 0.02,
        "reporting_max_attempts": 12,
        "reporting_stripe_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return values


@dataclass
class Customer:
    user_id: str
    stripe_customer_id: str
    subscription_id: str
    items: dict[ChargeBy, str]  # mode -> Stripe subscription item id
    # True usage per mode's meter: hour -> value (every meter counts every event here)
    hourly: dict[datetime, int] = field(default_factory=dict)


class World:
    def __init__(
        self, app: Any, emulator: EmulatorServer, *, meters_api: bool, modes: Sequence[ChargeBy] = MODES
    ):
        self.app = app
        self.emulator = emulator
        self.meters_api = meters_api
        self.modes = tuple(modes)
        self.version = BASIL if meters_api else LEGACY
        self.stripe = emulator.client(version=self.version)
        self.prices: dict[ChargeBy, dict[str, Any]] = {}
        self.meters: dict[ChargeBy, str] = {}
        self.stripe_meters: dict[ChargeBy, dict[str, Any]] = {}
        self.customers: list[Customer] = []
        self.settings = services_of(app).settings
        self.reporter: UsageReporter = services_of(app).usage_reporter
        self.use_reporting(fast_reporting())
        # Virtual time: starts at the emulator's now; the emulator follows when the clock moves.
        self.now = datetime.fromtimestamp(emulator.now(), UTC)

    def use_reporting(self, reporting: dict[str, Any]) -> None:
        """Change REPORTING_* values of the running app (the reporter reads them on every run)."""
        for name, value in reporting.items():
            setattr(self.settings, name, value)

    # -- time -------------------------------------------------------------------------------------------

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        self.emulator.advance_clock(seconds=delta.total_seconds())
        return self.now

    def advance_to(self, moment: datetime) -> datetime:
        if moment > self.now:
            self.advance(moment - self.now)
        return self.now

    # -- Stripe catalog and meters ----------------------------------------------------------------------

    async def build_catalog(self, unit_amount: int = 3) -> None:
        product = self.stripe.v1.products.create({"name": "Reporting test API"})
        for mode in self.modes:
            recurring: dict[str, Any] = {"interval": "month", "usage_type": "metered"}
            if self.meters_api:
                meter = self.stripe.v1.billing.meters.create(
                    {
                        "display_name": f"calls {mode.value}",
                        "event_name": f"calls_{mode.value}_{uuid.uuid4().hex[:6]}",
                        "default_aggregation": {"formula": METER_FORMULA[mode]},
                    }
                )
                self.stripe_meters[mode] = meter.to_dict()
                recurring["meter"] = meter.id
            else:
                recurring["aggregate_usage"] = LEGACY_AGGREGATE[mode]
            price = self.stripe.v1.prices.create(
                {"product": product.id, "currency": "usd", "unit_amount": unit_amount, "recurring": recurring}
            )
            self.prices[mode] = price.to_dict()
        services = services_of(self.app)
        gateway = await services.stripe.gateway()
        for mode in self.modes:
            meter = await create_meter(
                services.database,
                services.settings,
                gateway,
                MeterCreate(
                    name=f"calls ({mode.value})",
                    stripe_price_id=self.prices[mode]["id"],
                    metric={"type": "event_count"},
                    charge_by=mode,
                ),
            )
            self.meters[mode] = meter.id

    async def add_customers(self, count: int) -> list[Customer]:
        created = []
        for index in range(count):
            email = f"reporting-{uuid.uuid4().hex[:10]}@example.com"
            async with services_of(self.app).database.write() as session:
                user = User(email=email, name=f"Customer {index}", password_hash="not-a-login")
                session.add(user)
                await session.flush()
                user_id = user.id
            created.append(await self.subscribe(user_id, email))
        return created

    async def subscribe(self, user_id: str, email: str, modes: Sequence[ChargeBy] | None = None) -> Customer:
        """A Stripe customer and a subscription with one item per mode's price, mirrored in our tables."""
        modes = tuple(modes or self.modes)
        stripe_customer = self.stripe.v1.customers.create({"email": email, "metadata": {"user_id": user_id}})
        subscription = self.stripe.v1.subscriptions.create(
            {"customer": stripe_customer.id, "items": [{"price": self.prices[m]["id"]} for m in modes]}
        )
        data = await (await services_of(self.app).stripe.gateway()).retrieve_subscription(subscription.id)
        async with services_of(self.app).database.write() as session:
            await billing.link_customer(session, user_id, stripe_customer.to_dict())
            await billing.sync_subscription(session, data, user_id=user_id)
        prices = {i["price"]["id"]: i["id"] for i in data["items"]["data"]}
        customer = Customer(
            user_id, stripe_customer.id, subscription.id, {m: prices[self.prices[m]["id"]] for m in modes}
        )
        self.customers.append(customer)
        return customer

    # -- usage ------------------------------------------------------------------------------------------

    async def use(
        self, customer: Customer, hour: datetime, calls: int, *, minute: int = 30, route: str = "/v1/things"
    ) -> None:
        """`calls` API calls by `customer` at hour:minute, ingested as they would arrive then."""
        moment = hour + timedelta(minutes=minute)
        await self.ingest_calls([(customer, moment, calls)], now=max(self.now, moment), route=route)

    async def ingest_calls(
        self, calls: Sequence[tuple[Customer, datetime, int]], *, now: datetime, route: str = "/v1/things"
    ) -> None:
        raw = []
        for customer, moment, count in calls:
            for _ in range(count):
                raw.append(
                    {
                        "id": uuid.uuid4().hex,
                        "user_id": customer.user_id,
                        "route": route,
                        "method": "GET",
                        "status": 200,
                        "timestamp": moment.isoformat(),
                    }
                )
            customer.hourly[_hour(moment)] = customer.hourly.get(_hour(moment), 0) + count
        events = [normalize_usage_event(i, e) for i, e in enumerate(raw)]
        async with services_of(self.app).database.write() as session:
            result = await ingest(
                session,
                services_of(self.app).settings,
                services_of(self.app).key_verifier,
                events,
                [],
                received=len(events),
                now=now,  # type: ignore[arg-type]
            )
        assert result.accepted == len(raw) and not result.unattributed, result

    # -- reporting --------------------------------------------------------------------------------------

    async def report(self, **kwargs: Any) -> RunResult:
        return await self.reporter.run(now=self.now, **kwargs)

    # -- what Stripe holds ------------------------------------------------------------------------------

    def subscription(self, customer: Customer) -> dict[str, Any]:
        sub = self.stripe.v1.subscriptions.retrieve(customer.subscription_id).to_dict()
        items = sub["items"]["data"]
        start = sub.get("current_period_start") or min(i["current_period_start"] for i in items)
        end = sub.get("current_period_end") or max(i["current_period_end"] for i in items)
        return {"start": start, "end": end}

    def stripe_quantity(self, customer: Customer, mode: ChargeBy) -> Decimal:
        """What Stripe bills for the mode's item this period (usage record summary / meter event summary)."""
        period = self.subscription(customer)
        if self.meters_api:
            meter = self.stripe_meters[mode]
            summaries = self.stripe.v1.billing.meters.event_summaries.list(
                meter["id"],
                {
                    "customer": customer.stripe_customer_id,
                    "start_time": period["start"],
                    "end_time": period["end"],
                },
            )
            return Decimal(str(sum(s.aggregated_value for s in summaries.data)))
        raw = self.stripe.raw_request(
            "get", f"/v1/subscription_items/{customer.items[mode]}/usage_record_summaries", limit=10
        )
        data = self.stripe.deserialize(raw, api_mode="V1")
        current = [s for s in data["data"] if s["invoice"] is None]
        return Decimal(current[0]["total_usage"])

    def expected(self, customer: Customer, mode: ChargeBy, *, period_start: datetime | None = None) -> int:
        """What the mode should bill from the true usage (hours of the current period)."""
        hours = {h: v for h, v in customer.hourly.items() if period_start is None or h + HOUR > period_start}
        if not hours:
            return 0
        ordered = [hours[h] for h in sorted(hours)]
        if mode is ChargeBy.SUM:
            return sum(ordered)
        if mode is ChargeBy.MAX:
            return max(ordered)
        return ordered[-1]

    def invoice_preview(self, customer: Customer) -> dict[str, Any]:
        if self.meters_api:
            preview = self.stripe.v1.invoices.create_preview(
                {"customer": customer.stripe_customer_id, "subscription": customer.subscription_id}
            )
            return preview.to_dict()
        raw = self.stripe.raw_request(
            "get",
            "/v1/invoices/upcoming",
            customer=customer.stripe_customer_id,
            subscription=customer.subscription_id,
        )
        return dict(self.stripe.deserialize(raw, api_mode="V1").to_dict())


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
