"""Admin meters: the list, the create/edit form (filter builder, metric picker), delete, Meter Test."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import reflex as rx

from my_dev_portal.api_client import ApiError, Meter, MeterTestResult, Plan
from my_dev_portal.prices import describe_plan, format_count, format_money
from my_dev_portal.state import admin_filters as filters
from my_dev_portal.state.admin_base import AdminState
from my_dev_portal.state.admin_filters import FilterGroup, FilterRow

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
# The charge-by select's "let the price decide" choice (Radix selects cannot hold an empty value).
CHARGE_BY_FROM_PRICE = "from_price"
# The Meter Test's checks (portal_api/reporting/meter_test.py), for people.
CHECK_LABELS = {
    "stripe_connection": "Stripe connection",
    "price": "Price bills this meter",
    "subscription": "A subscriber to test with",
    "test_event": "Test event counted",
    "report": "Usage reported to Stripe",
    "invoice_preview": "Invoice preview matches",
    "usage_reported": "All usage in Stripe",
}
PRICE_ERROR_CODES = ("price_not_found", "price_not_recurring", "price_not_metered", "price_inactive")
MAX_NAME = 200


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
class CheckView:
    name: str = ""
    ok: bool = False
    detail: str = ""


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
        label=f"{plan.product_name} · {nickname}",
        summary=f"{view.headline} · {view.cadence}",
    )


def _money(amount: int | None, currency: str | None) -> str:
    if amount is None or not currency:
        return "—"
    return format_money(amount, currency)


def _quantity(value: str | None) -> str:
    return "—" if value is None else format_count(value)


class AdminMetersState(AdminState, rx.State):
    """The meters page: list, form, delete confirmation and the last Meter Test result."""

    meters: list[MeterView] = []
    price_choices: list[PriceChoice] = []
    # The meters as the API sent them, to fill the edit form.
    _stored: dict[str, Meter] = {}

    # The create/edit form; editing_id "" means a new meter.
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
    filter_error: str = ""
    form_error: str = ""

    # The filter builder: a top group of rows plus sub-groups, or the raw JSON tree.
    filter_mode: str = "and"
    filter_rows: list[FilterRow] = []
    filter_groups: list[FilterGroup] = []
    json_mode: bool = False
    filter_json: str = ""
    _next_id: int = 1

    # Deleting asks first.
    delete_id: str = ""
    delete_name: str = ""

    # Meter Test of one meter.
    testing_id: str = ""
    test_ran: bool = False
    test_meter_name: str = ""
    test_passed: bool = False
    test_checks: list[CheckView] = []
    test_reason: str = ""
    test_customer: str = ""
    test_subscription: str = ""
    test_usage: str = ""
    test_reported: str = ""
    test_stripe_usage: str = ""
    test_amount: str = ""
    test_stripe_amount: str = ""
    test_difference: str = ""
    test_error: str = ""

    @rx.var
    def editing(self) -> bool:
        return self.editing_id != ""

    @rx.var
    def confirming_delete(self) -> bool:
        return self.delete_id != ""

    @rx.var
    def selected_price_summary(self) -> str:
        for choice in self.price_choices:
            if choice.price_id == self.form_price_id:
                return choice.summary
        return ""

    # --- loading -----------------------------------------------------------------------------------------

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

    # --- the form ----------------------------------------------------------------------------------------

    def _clear_errors(self) -> None:
        self.name_error = self.price_error = self.metric_error = self.charge_by_error = ""
        self.filter_error = self.form_error = ""
        for row in self._all_rows():
            row.error = ""

    def _all_rows(self) -> list[FilterRow]:
        return [*self.filter_rows, *(row for group in self.filter_groups for row in group.rows)]

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id

    @rx.event
    def new_meter(self) -> None:
        self._clear_errors()
        self.form_open = True
        self.editing_id = ""
        self.form_name = ""
        self.form_price_id = self.price_choices[0].price_id if self.price_choices else ""
        self.form_metric = "event_count"
        self.form_sum_field = ""
        self.form_charge_by = CHARGE_BY_FROM_PRICE
        self.form_active = True
        self.filter_mode = "and"
        self.filter_rows = [filters.new_row(self._take_id())]
        self.filter_groups = []
        self.json_mode = False
        self.filter_json = ""

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
        try:
            mode, rows, groups = filters.from_tree(meter.filters)
        except filters.TooDeep:
            self.json_mode = True
            self.filter_json = json.dumps(meter.filters, indent=2)
            self.filter_mode, self.filter_rows, self.filter_groups = "and", [], []
        else:
            self.json_mode = False
            self.filter_json = ""
            self.filter_mode, self.filter_rows, self.filter_groups = mode, rows, groups
            self._next_id = 10_000

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

    # --- the filter builder ------------------------------------------------------------------------------

    def _rows_of(self, group: int) -> list[FilterRow]:
        return self.filter_rows if group < 0 else self.filter_groups[group].rows

    @rx.event
    def set_filter_mode(self, mode: str | list[str]) -> None:
        # A segmented control may send a list; it only ever holds one of "and" / "or" here.
        self.filter_mode = "or" if mode in ("or", ["or"]) else "and"

    @rx.event
    def add_row(self, group: int) -> None:
        if group >= len(self.filter_groups):
            return
        self._rows_of(group).append(filters.new_row(self._take_id()))
        self.filter_error = ""

    @rx.event
    def remove_row(self, group: int, row: int) -> None:
        if group >= len(self.filter_groups):
            return
        rows = self._rows_of(group)
        if 0 <= row < len(rows):
            rows.pop(row)
        if group >= 0 and not rows:
            self.filter_groups.pop(group)

    @rx.event
    def set_row(self, group: int, row: int, prop: str, value: str) -> None:
        """Change a row's field, key (header name or metadata path), op or value."""
        if group >= len(self.filter_groups) or prop not in ("field", "key", "op", "value"):
            return
        rows = self._rows_of(group)
        if not 0 <= row < len(rows):
            return
        item = rows[row]
        setattr(item, prop, value)
        if prop == "field" and value not in filters.KEYED_FIELDS:
            item.key = ""
        item.error = ""
        filters.refresh_row(item)
        # Reflex notices changes to a list, not to an object inside it.
        if group < 0:
            self.filter_rows = list(rows)
        else:
            self.filter_groups = list(self.filter_groups)

    @rx.event
    def add_group(self) -> None:
        mode = "or" if self.filter_mode == "and" else "and"
        group = FilterGroup(id=self._take_id(), mode=mode, rows=[filters.new_row(self._take_id())])
        self.filter_groups.append(group)
        self.filter_error = ""

    @rx.event
    def set_group_mode(self, group: int, mode: str | list[str]) -> None:
        if 0 <= group < len(self.filter_groups):
            self.filter_groups[group].mode = "or" if mode in ("or", ["or"]) else "and"
            self.filter_groups = list(self.filter_groups)

    @rx.event
    def remove_group(self, group: int) -> None:
        if 0 <= group < len(self.filter_groups):
            self.filter_groups.pop(group)

    @rx.event
    def set_filter_json(self, value: str) -> None:
        self.filter_json = value
        self.filter_error = ""

    @rx.event
    def toggle_json_mode(self) -> None:
        """Switch between the builder and the JSON tree, carrying the filter across."""
        self.filter_error = ""
        if not self.json_mode:
            tree = filters.to_tree(self.filter_mode, self.filter_rows, self.filter_groups)
            self.filter_json = "" if tree is None else json.dumps(tree, indent=2)
            self.json_mode = True
            return
        try:
            tree = json.loads(self.filter_json) if self.filter_json.strip() else None
        except ValueError as exc:
            self.filter_error = f"The JSON is not valid: {exc}"
            return
        try:
            self.filter_mode, self.filter_rows, self.filter_groups = filters.from_tree(tree)
        except filters.TooDeep as exc:
            self.filter_error = f"The builder cannot show this filter ({exc}); keep editing it as JSON."
            return
        self._next_id = 10_000
        self.json_mode = False

    # --- saving ------------------------------------------------------------------------------------------

    def _filter_tree(self) -> tuple[bool, Any]:
        """(ok, tree) from the builder or the JSON; marks incomplete rows."""
        if self.json_mode:
            if not self.filter_json.strip():
                return True, None
            try:
                return True, json.loads(self.filter_json)
            except ValueError as exc:
                self.filter_error = f"The JSON is not valid: {exc}"
                return False, None
        complete = True
        for row in self._all_rows():
            if filters.row_is_blank(row):
                continue
            if row.keyed and not row.key.strip():
                row.error = "Name the header or metadata field."
                complete = False
            elif row.needs_value and not row.value.strip():
                row.error = "Enter a value."
                complete = False
        if not complete:
            self.filter_rows = list(self.filter_rows)
            self.filter_groups = list(self.filter_groups)
            return False, None
        return True, filters.to_tree(self.filter_mode, self.filter_rows, self.filter_groups)

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
            where = None if self.json_mode else self._locate(exc.path)
            if where is None:
                self.filter_error = exc.message
            else:
                group, row = where
                self._rows_of(group)[row].error = exc.message.split(": ", 1)[-1]
                self.filter_rows = list(self.filter_rows)
                self.filter_groups = list(self.filter_groups)
        elif exc.code == "invalid_metric":
            self.metric_error = exc.message
        elif exc.code == "charge_by_mismatch":
            self.charge_by_error = exc.message
        elif exc.code in PRICE_ERROR_CODES or exc.code == "price_product_mismatch":
            self.price_error = exc.message
        elif exc.status == 422 and exc.message.startswith("name"):
            self.name_error = exc.message
        else:
            self.form_error = exc.message

    def _locate(self, path: str) -> tuple[int, int] | None:
        return filters.locate_error(path, self.filter_rows, self.filter_groups)

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

    # --- deleting ----------------------------------------------------------------------------------------

    @rx.event
    def ask_delete(self, meter_id: str, name: str) -> None:
        self.delete_id, self.delete_name = meter_id, name

    @rx.event
    def set_delete_dialog_open(self, is_open: bool) -> None:
        if not is_open:
            self.delete_id = self.delete_name = ""

    @rx.event
    async def delete_confirmed(self):
        meter_id, self.delete_id, self.delete_name = self.delete_id, "", ""
        api = await self._admin_api()
        if not meter_id or api is None:
            return None
        self.error = ""
        try:
            await api.delete_meter(meter_id)
        except ApiError as exc:
            return await self._failed(exc, "The meter could not be deleted")
        if self.editing_id == meter_id:
            self.form_open, self.editing_id = False, ""
        if self.testing_id == meter_id:
            self.test_ran = False
        await self._reload()
        return None

    # --- Meter Test --------------------------------------------------------------------------------------

    @rx.event
    async def run_test(self, meter_id: str):
        api = await self._admin_api()
        if api is None:
            return
        self.testing_id = meter_id
        self.test_ran = False
        self.test_error = ""
        stored = self._stored.get(meter_id)
        self.test_meter_name = stored.name if stored else meter_id
        yield
        try:
            result = await api.test_meter(meter_id)
        except ApiError as exc:
            self.testing_id = ""
            if (refused := await self._refusal(exc)) is not None:
                yield refused
                return
            self.test_error = f"Meter Test could not run: {exc.message}"
            return
        self._show_test(result)
        self.testing_id = ""

    def _show_test(self, result: MeterTestResult) -> None:
        self.test_ran = True
        self.test_passed = result.passed
        self.test_reason = result.reason or ""
        self.test_checks = [
            CheckView(name=CHECK_LABELS.get(check.name, check.name), ok=check.ok, detail=check.detail or "")
            for check in result.checks
        ]
        self.test_customer = result.customer_id or ""
        self.test_subscription = result.subscription_id or ""
        ours, theirs, currency = result.ours, result.stripe, result.currency
        self.test_usage = _quantity(ours.usage_quantity if ours else None)
        self.test_reported = _quantity(ours.reported_quantity if ours else None)
        self.test_stripe_usage = _quantity(theirs.quantity if theirs else None)
        self.test_amount = _money(ours.amount if ours else None, currency)
        self.test_stripe_amount = _money(theirs.amount if theirs else None, currency)
        self.test_difference = _money(result.difference, currency)

    @rx.event
    def dismiss_test(self) -> None:
        self.test_ran = False
        self.test_error = ""
