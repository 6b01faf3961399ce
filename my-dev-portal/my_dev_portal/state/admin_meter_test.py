"""Meter Test on the admin meters page: a synthetic event through metering and reporting, against Stripe."""

from __future__ import annotations

import dataclasses

import reflex as rx

from my_dev_portal.api_client import ApiError, MeterTestResult
from my_dev_portal.prices import format_count, format_money
from my_dev_portal.state.admin_meters import AdminMetersState

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


class MeterTestState(AdminMetersState):
    """The Meter Test running (testing_id) or last run, with its checks and both sides' amounts."""

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
    # The meter whose result is shown.
    _tested_id: str = ""

    @rx.event
    async def run_test(self, meter_id: str):
        api = await self._admin_api()
        if api is None:
            return
        self.testing_id = self._tested_id = meter_id
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

    def _forget(self, meter_id: str) -> None:
        """`meter_id` was deleted: its result goes."""
        if meter_id in (self.testing_id, self._tested_id):
            self.test_ran = False
