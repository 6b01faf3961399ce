"""Meter Test on the admin meters page: the synthetic call (derived from the filters, editable), then the run
through metering and reporting for the Meter Test's own test customer, against Stripe's invoice preview."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import reflex as rx

from my_dev_portal.api_client import ApiError, MeterTestEvent, MeterTestResult
from my_dev_portal.prices import format_count, format_money
from my_dev_portal.state.admin_meters import AdminMetersState

# The Meter Test's checks (portal_api/reporting/meter_test.py), for people.
CHECK_LABELS = {
    "stripe_connection": "Stripe connection",
    "price": "Price bills this meter",
    "event": "Test event matches the filters",
    "subscription": "Test customer and subscription",
    "test_event": "Test event counted",
    "report": "Usage reported to the test subscription",
    "invoice_preview": "Invoice preview matches",
    "usage_reported": "All usage in Stripe",
}
# The editable parts of the synthetic call that are JSON objects, by form field.
JSON_FIELDS = {
    "event_request_headers": "request_headers",
    "event_response_headers": "response_headers",
    "event_metadata": "metadata",
}


@dataclasses.dataclass
class CheckView:
    name: str = ""
    ok: bool = False
    detail: str = ""


def _money(amount: int | None, currency: str | None) -> str:
    if amount is None or not currency:
        return "—"
    return format_money(amount, currency)


def _quantity(value: str | None) -> str:
    return "—" if value is None else format_count(value)


def _json_text(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True) if value else ""


class MeterTestState(AdminMetersState):
    """The Meter Test being prepared (event_meter_id: its call, editable), running (testing_id) or last run,
    with its checks and both sides' amounts."""

    # The prepared call: shown once "Meter Test" is pressed on a meter's row, sent by "Run Meter Test".
    event_meter_id: str = ""
    event_meter_name: str = ""
    event_loading: bool = False
    event_route: str = ""
    event_method: str = ""
    event_status: str = ""
    event_weight: str = ""
    event_company: str = ""
    event_request_headers: str = ""
    event_response_headers: str = ""
    event_metadata: str = ""
    # Why no call can match the meter's filters (the API's words), or what is wrong with the edited one.
    event_reason: str = ""
    event_error: str = ""
    testing_id: str = ""
    test_ran: bool = False
    test_meter_name: str = ""
    test_passed: bool = False
    test_live: bool = False
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
    # The meter whose result is shown, and the call the API derived (sent as "derive it" when unedited).
    _tested_id: str = ""
    _derived: dict[str, Any] | None = None

    @rx.var
    def event_open(self) -> bool:
        return self.event_meter_id != ""

    @rx.event
    async def prepare_test(self, meter_id: str):
        """Show the call the Meter Test would send for `meter_id`, for the admin to check or edit."""
        api = await self._admin_api()
        if api is None:
            return
        stored = self._stored.get(meter_id)
        self.event_meter_id = meter_id
        self.event_meter_name = stored.name if stored else meter_id
        self.event_loading = True
        self.event_reason = self.event_error = self.test_error = ""
        self.test_ran = False
        yield
        try:
            prepared = await api.meter_test_event(meter_id)
        except ApiError as exc:
            self.event_loading = False
            self.event_meter_id = ""
            if (refused := await self._refusal(exc)) is not None:
                yield refused
                return
            self.test_error = f"Meter Test could not be prepared: {exc.message}"
            return
        self.event_loading = False
        self.event_reason = prepared.reason or ""
        self._derived = prepared.event.model_dump() if prepared.event is not None else None
        self._fill(prepared.event)

    def _fill(self, event: MeterTestEvent | None) -> None:
        self.event_route = event.route if event else "/meter-test"
        self.event_method = event.method if event else "GET"
        self.event_status = str(event.status) if event and event.status is not None else ""
        self.event_weight = str(event.weight) if event else "1"
        self.event_company = (event.company or "") if event else ""
        self.event_request_headers = _json_text(event.request_headers) if event else ""
        self.event_response_headers = _json_text(event.response_headers) if event else ""
        self.event_metadata = _json_text(event.metadata) if event else ""

    @rx.event
    def set_event_field(self, name: str, value: str) -> None:
        if name in (
            "event_route",
            "event_method",
            "event_status",
            "event_weight",
            "event_company",
            *JSON_FIELDS,
        ):
            setattr(self, name, value)
            self.event_error = ""

    @rx.event
    def reset_event(self) -> None:
        """Back to the call derived from the filters."""
        self.event_error = ""
        self._fill(MeterTestEvent.model_validate(self._derived) if self._derived is not None else None)

    def _edited_event(self) -> dict[str, Any] | None:
        """The call as edited, for the API (None: send none, let the API derive it); sets event_error."""
        event: dict[str, Any] = {
            "route": self.event_route.strip() or "/",
            "method": self.event_method.strip().upper() or "GET",
            "company": self.event_company.strip() or None,
        }
        status = self.event_status.strip()
        if status and not (status.isdigit() and 100 <= int(status) <= 599):
            self.event_error = "Status: a code from 100 to 599, or empty for none"
            return None
        event["status"] = int(status) if status else None
        weight = self.event_weight.strip() or "1"
        if not weight.isdigit():
            self.event_error = "Weight: a whole number, 0 or more"
            return None
        event["weight"] = int(weight)
        for name, key in JSON_FIELDS.items():
            text = str(getattr(self, name)).strip()
            try:
                value = json.loads(text) if text else {}
            except ValueError:
                value = None
            if not isinstance(value, dict):
                label = key.replace("_", " ").capitalize()
                self.event_error = f'{label}: a JSON object, like {{"plan": "pro"}}'
                return None
            event[key] = value
        return event

    @rx.event
    async def run_test(self):
        """Run the Meter Test of the prepared meter with the call as shown."""
        api = await self._admin_api()
        meter_id = self.event_meter_id
        if api is None or not meter_id:
            return
        event = self._edited_event()
        if self.event_error:
            return
        self.testing_id = self._tested_id = meter_id
        self.test_ran = False
        self.test_error = ""
        self.test_meter_name = self.event_meter_name
        yield
        try:
            result = await api.test_meter(meter_id, None if event == self._derived else event)
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
        self.test_live = result.mode == "live"
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
        self.event_meter_id = ""
        self.event_error = self.event_reason = ""

    def _forget(self, meter_id: str) -> None:
        """`meter_id` was deleted: its prepared call and its result go."""
        if meter_id in (self.testing_id, self._tested_id):
            self.test_ran = False
        if meter_id == self.event_meter_id:
            self.event_meter_id = ""
