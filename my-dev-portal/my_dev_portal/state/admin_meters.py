"""Admin meters: the list, the metered prices a meter can bill, which of them no meter bills, and how the
console names metrics."""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx

from my_dev_portal.api_client import ApiError, Meter, MeterCoverage, Plan, PortalApi, UnbilledPrice
from my_dev_portal.prices import describe_plan, plural
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


@dataclasses.dataclass
class UnbilledView:
    """A metered price no active meter bills: usage on it is never billed. The page offers its meter."""

    price_id: str = ""
    label: str = ""
    # "1 switched-off meter on this price", or "".
    note: str = ""


@dataclasses.dataclass
class DoubledView:
    """A price two or more active meters bill (allowed before the API refused it): billed twice."""

    price_id: str = ""
    label: str = ""
    meters: str = ""


def unbilled_view(price: UnbilledPrice) -> UnbilledView:
    inactive = len(price.inactive_meter_ids)
    note = f"{inactive} switched-off {plural('meter', inactive)} on this price" if inactive else ""
    return UnbilledView(
        price_id=price.price_id,
        label=f"{price.product_name or price.product_id} · {price.nickname or price.price_id}",
        note=note,
    )


def coverage_views(
    coverage: MeterCoverage, names: dict[str, str]
) -> tuple[list[UnbilledView], list[DoubledView]]:
    """The coverage as the Meters page and the Overview list it; `names` are the meters' names by id."""
    doubled = [
        DoubledView(
            price_id=price.price_id,
            label=price.nickname or price.price_id,
            meters=", ".join(f"“{names.get(meter_id, meter_id)}”" for meter_id in price.meter_ids),
        )
        for price in coverage.double_metered
    ]
    return [unbilled_view(price) for price in coverage.unbilled], doubled


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
    # Metered prices no active meter bills (their usage is never billed), and prices billed twice.
    unbilled: list[UnbilledView] = []
    double_metered: list[DoubledView] = []
    coverage_error: str = ""
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
        await self._show_coverage(api)
        self.loaded = True
        return None

    def _show(self, meters: list[Meter]) -> None:
        self._stored = {meter.id: meter for meter in meters}
        self.meters = [meter_view(meter) for meter in meters]

    async def _show_coverage(self, api: PortalApi) -> None:
        try:
            coverage = await api.meter_coverage()
        except ApiError as exc:
            self.unbilled, self.double_metered = [], []
            self.coverage_error = f"Which prices the meters bill could not be checked: {exc.message}"
            return
        self.coverage_error = ""
        names = {meter_id: meter.name for meter_id, meter in self._stored.items()}
        self.unbilled, self.double_metered = coverage_views(coverage, names)

    async def _reload(self) -> None:
        api = await self._admin_api()
        if api is None:
            return
        try:
            self._show(await api.meters())
        except ApiError as exc:
            self.error = f"Meters could not be loaded: {exc.message}"
            return
        await self._show_coverage(api)
