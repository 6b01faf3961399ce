"""Admin meters: the list, the metered prices a meter can bill, and how the console names metrics."""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx

from my_dev_portal.api_client import ApiError, Meter, Plan
from my_dev_portal.prices import describe_plan
from my_dev_portal.state import admin_filters as filters
from my_dev_portal.state.admin_base import AdminState

METRIC_LABELS = {
    "event_count": "Event count",
    "unique_users": "Unique users",
    "unique_sessions": "Unique sessions",
    "sum": "Sum of a field",
}
CHARGE_BY_LABELS = {
    "sum_during_period": "Sum during the period",
    "last_during_period": "Last value in the period",
    "last_ever": "Last value ever",
    "max_during_period": "Maximum in the period",
}


@dataclasses.dataclass
class MeterView:
    """One row of the meters table."""

    id: str = ""
    name: str = ""
    price: str = ""
    price_id: str = ""
    metric: str = ""
    charge_by: str = ""
    filters: str = ""
    active: bool = True


@dataclasses.dataclass
class PriceChoice:
    """A metered price of the live catalog, as the price picker lists it."""

    price_id: str = ""
    product_id: str = ""
    label: str = ""
    summary: str = ""


def metric_text(metric: dict[str, Any]) -> str:
    kind = str(metric.get("type", "event_count"))
    if kind == "sum":
        return f"Sum of {metric.get('field', '?')}"
    return METRIC_LABELS.get(kind, kind)


def meter_view(meter: Meter) -> MeterView:
    price = meter.price_nickname or meter.stripe_price_id
    return MeterView(
        id=meter.id,
        name=meter.name,
        price=price,
        price_id=meter.stripe_price_id,
        metric=metric_text(meter.metric),
        charge_by=CHARGE_BY_LABELS.get(meter.charge_by, meter.charge_by),
        filters=filters.describe_tree(meter.filters),
        active=meter.active,
    )


def price_choice(plan: Plan) -> PriceChoice:
    view = describe_plan(plan)
    nickname = plan.nickname or plan.price_id
    return PriceChoice(
        price_id=plan.price_id,
        product_id=plan.product_id,
        label=f"{plan.product_name or plan.product_id} · {nickname}",
        summary=f"{view.headline} · {view.cadence}",
    )


class AdminMetersState(AdminState, rx.State):
    """`/admin/meters`: the meters and the catalog's metered prices.

    Its substates hold the rest of the page: MeterFormState (admin_meter_form.py), MeterTestState
    (admin_meter_test.py) and MeterDeleteState (admin_meter_delete.py).
    """

    meters: list[MeterView] = []
    price_choices: list[PriceChoice] = []
    # The meters as the API sent them, to fill the edit form.
    _stored: dict[str, Meter] = {}

    @rx.event
    async def load(self):
        api = await self._admin_api()
        if api is None:
            return None
        self.error = ""
        try:
            meters = await api.meters()
        except ApiError as exc:
            self.loaded = True
            return await self._failed(exc, "Meters could not be loaded")
        self._show(meters)
        try:
            plans = await api.plans()
        except ApiError as exc:
            self.error = f"The price catalog could not be loaded: {exc.message}"
            plans = []
        self.price_choices = [price_choice(plan) for plan in plans if plan.usage_type == "metered"]
        self.loaded = True
        return None

    def _show(self, meters: list[Meter]) -> None:
        self._stored = {meter.id: meter for meter in meters}
        self.meters = [meter_view(meter) for meter in meters]

    async def _reload(self) -> None:
        api = await self._admin_api()
        if api is None:
            return
        try:
            self._show(await api.meters())
        except ApiError as exc:
            self.error = f"Meters could not be loaded: {exc.message}"
