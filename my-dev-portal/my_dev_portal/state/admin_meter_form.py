"""The create/edit meter form: its fields, their checks, and saving with the API's complaints in place."""

from __future__ import annotations

from typing import Any

import reflex as rx

from my_dev_portal.api_client import ApiError
from my_dev_portal.state.admin_filter_editor import FilterEditor
from my_dev_portal.state.admin_meters import METRIC_LABELS, AdminMetersState

# The charge-by select's "let the price decide" choice (Radix selects cannot hold an empty value).
CHARGE_BY_FROM_PRICE = "from_price"
PRICE_ERROR_CODES = (
    "price_not_found",
    "price_not_recurring",
    "price_not_metered",
    "price_inactive",
    "price_product_mismatch",
    # Another active meter bills the price: a second one would bill its usage twice.
    "price_already_metered",
)
# The name a meter made from a "never billed" price's shortcut starts with.
SHORTCUT_METER_NAME = "API calls"
MAX_NAME = 200


class MeterFormState(FilterEditor, AdminMetersState):
    """The form under the meters page's "New meter" and "Edit" buttons; editing_id "" means a new meter."""

    form_open: bool = False
    editing_id: str = ""
    form_name: str = ""
    form_price_id: str = ""
    form_metric: str = "event_count"
    form_sum_field: str = ""
    form_charge_by: str = CHARGE_BY_FROM_PRICE
    form_active: bool = True
    saving: bool = False
    name_error: str = ""
    price_error: str = ""
    metric_error: str = ""
    charge_by_error: str = ""
    form_error: str = ""

    @rx.var
    def editing(self) -> bool:
        return self.editing_id != ""

    @rx.var
    def selected_price_summary(self) -> str:
        for choice in self.price_choices:
            if choice.price_id == self.form_price_id:
                return choice.summary
        return ""

    def _clear_errors(self) -> None:
        self.name_error = self.price_error = self.metric_error = self.charge_by_error = ""
        self.form_error = ""
        self._clear_filter_errors()

    @rx.event
    def new_meter(self) -> None:
        self._open_new()

    def _open_new(self) -> None:
        self._clear_errors()
        self.form_open = True
        self.editing_id = ""
        self.form_name = ""
        self.form_price_id = self.price_choices[0].price_id if self.price_choices else ""
        self.form_metric = "event_count"
        self.form_sum_field = ""
        self.form_charge_by = CHARGE_BY_FROM_PRICE
        self.form_active = True
        self._new_filter()

    @rx.event
    def new_meter_for_price(self, price_id: str) -> None:
        """The "Create meter" shortcut of a price no meter bills: the form on that price, with no condition
        (the builder says "every event counts") until the admin adds one."""
        self._open_new()
        self.form_price_id = price_id
        self.form_name = SHORTCUT_METER_NAME
        self.filter_rows = []

    @rx.event
    def edit_meter(self, meter_id: str) -> None:
        meter = self._stored.get(meter_id)
        if meter is None:
            return
        self._clear_errors()
        self.form_open = True
        self.editing_id = meter.id
        self.form_name = meter.name
        self.form_price_id = meter.stripe_price_id
        self.form_metric = str(meter.metric.get("type", "event_count"))
        self.form_sum_field = str(meter.metric.get("field", ""))
        self.form_charge_by = meter.charge_by
        self.form_active = meter.active
        self._edit_filter(meter.filters)

    @rx.event
    def close_form(self) -> None:
        self.form_open = False
        self.editing_id = ""
        self._clear_errors()

    @rx.event
    def set_form_name(self, value: str) -> None:
        self.form_name = value
        self.name_error = ""

    @rx.event
    def set_form_price_id(self, value: str) -> None:
        self.form_price_id = value
        self.price_error = self.charge_by_error = ""

    @rx.event
    def set_form_metric(self, value: str) -> None:
        self.form_metric = value if value in METRIC_LABELS else "event_count"
        self.metric_error = ""

    @rx.event
    def set_form_sum_field(self, value: str) -> None:
        self.form_sum_field = value
        self.metric_error = ""

    @rx.event
    def set_form_charge_by(self, value: str) -> None:
        self.form_charge_by = value
        self.charge_by_error = ""

    @rx.event
    def set_form_active(self, value: bool) -> None:
        self.form_active = value

    def _body(self) -> dict[str, Any] | None:
        """The meter as the API takes it, or None after marking what is missing."""
        name = self.form_name.strip()
        if not name:
            self.name_error = "Give the meter a name, such as “API calls”."
        elif len(name) > MAX_NAME:
            self.name_error = f"Use at most {MAX_NAME} characters."
        if not self.form_price_id:
            self.price_error = "Choose the Stripe price this meter bills."
        metric: dict[str, Any] = {"type": self.form_metric}
        if self.form_metric == "sum":
            metric["field"] = self.form_sum_field.strip()
            if not metric["field"]:
                self.metric_error = "Name the numeric field to add up, such as weight or metadata.tokens."
        ok, tree = self._filter_tree()
        if not ok or self.name_error or self.price_error or self.metric_error:
            return None
        choice = next((c for c in self.price_choices if c.price_id == self.form_price_id), None)
        body: dict[str, Any] = {
            "name": name,
            "stripe_price_id": self.form_price_id,
            "filters": tree,
            "metric": metric,
            "active": self.form_active,
        }
        if choice is not None and choice.product_id:
            body["stripe_product_id"] = choice.product_id
        if self.form_charge_by != CHARGE_BY_FROM_PRICE:
            body["charge_by"] = self.form_charge_by
        return body

    def _show_save_error(self, exc: ApiError) -> None:
        """The API's message next to what it is about: a filter row, the metric, the price, or the form."""
        if exc.code == "invalid_filter":
            self._show_filter_error(exc.message, exc.path)
        elif exc.code == "invalid_metric":
            self.metric_error = exc.message
        elif exc.code == "charge_by_mismatch":
            self.charge_by_error = exc.message
        elif exc.code in PRICE_ERROR_CODES:
            self.price_error = exc.message
        elif exc.status == 422 and exc.message.startswith("name"):
            self.name_error = exc.message
        else:
            self.form_error = exc.message

    @rx.event
    async def save_meter(self):
        self._clear_errors()
        body = self._body()
        api = await self._admin_api()
        if body is None or api is None:
            return
        self.saving = True
        yield
        try:
            if self.editing_id:
                meter = await api.update_meter(self.editing_id, body)
            else:
                meter = await api.create_meter(body)
        except ApiError as exc:
            self.saving = False
            if (refused := await self._refusal(exc)) is not None:
                yield refused
                return
            self._show_save_error(exc)
            return
        self.saving = False
        verb = "saved" if self.editing_id else "created"
        self.form_open = False
        self.editing_id = ""
        await self._reload()
        yield rx.toast.success(f"Meter “{meter.name}” {verb}")
