"""Demo meters for `make run`: one "API calls" meter per metered price of the emulator's catalog.

`portal-api seed-demo-meters` runs this. It only ever talks to the Stripe emulator (STRIPE_API_BASE set to
anything but stripe.com): meters decide what customers are billed, so they are never made on a real Stripe
account behind the operator's back. It is safe to repeat: a price that has a meter (active or not: an
admin who switched one off meant it) is left alone, and the 409 of a meter made meanwhile is a skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from portal_api.config import Settings
from portal_api.db import Database
from portal_api.errors import Conflict, PortalError
from portal_api.metering.meters.schemas import MeterCreate
from portal_api.metering.meters.service import create_meter
from portal_api.metering.models import Meter
from portal_api.plans.service import PlanCatalog
from portal_api.stripe_client import StripeGateway

DEMO_METER_NAME = "API calls"


class NotTheEmulator(PortalError):
    status, code = 409, "not_the_emulator"
    message = (
        "Demo meters are only made on the Stripe emulator (STRIPE_API_BASE); create meters for a real "
        "Stripe account in the console"
    )


@dataclass(frozen=True)
class DemoMeter:
    price_id: str
    price_nickname: str | None
    meter_id: str | None  # None: the price had a meter already
    meter_name: str


def uses_the_emulator(settings: Settings) -> bool:
    """True when Stripe calls go to a stand-in (the emulator) rather than to stripe.com."""
    host = (urlsplit(settings.stripe_api_base).hostname or "").lower()
    return bool(host) and host != "stripe.com" and not host.endswith(".stripe.com")


async def seed_demo_meters(
    database: Database, settings: Settings, gateway: StripeGateway | None, catalog: PlanCatalog
) -> list[DemoMeter]:
    """A meter counting every call for each metered price that has none; what was made or kept, by price."""
    if not uses_the_emulator(settings):
        raise NotTheEmulator()
    metered = [plan for plan in await catalog.plans() if plan.usage_type == "metered"]
    async with database.read() as session:
        names = {
            price_id: name
            for price_id, name in (await session.execute(select(Meter.stripe_price_id, Meter.name))).all()
        }
    seeded = []
    for plan in metered:
        if plan.price_id in names:
            seeded.append(DemoMeter(plan.price_id, plan.nickname, None, names[plan.price_id]))
            continue
        body = MeterCreate(
            name=DEMO_METER_NAME, stripe_price_id=plan.price_id, stripe_product_id=plan.product_id
        )
        try:
            meter = await create_meter(database, settings, gateway, body)
        except Conflict:  # another process made one meanwhile
            seeded.append(DemoMeter(plan.price_id, plan.nickname, None, DEMO_METER_NAME))
            continue
        seeded.append(DemoMeter(plan.price_id, plan.nickname, meter.id, meter.name))
    return seeded
