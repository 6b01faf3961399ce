"""The dashboard's subscription, usage and upcoming-invoice panels."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import reflex as rx

from my_dev_portal.api_client import ApiError, Subscription, UpcomingInvoice, Usage
from my_dev_portal.prices import EN_DASH, format_count, format_date, format_money, plural
from my_dev_portal.state.auth import AuthState

# Radix colour of each subscription status badge.
STATUS_COLORS = {
    "active": "green",
    "trialing": "blue",
    "past_due": "orange",
    "unpaid": "red",
    "incomplete": "orange",
    "incomplete_expired": "gray",
    "canceled": "gray",
    "paused": "gray",
}


# Subscriptions that can be set to cancel at the period end (and so resumed); ended ones show no end date.
CANCELABLE_STATUSES = frozenset({"active", "trialing", "past_due", "unpaid"})
ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})

# What one unit of each metric is, for "1,500 calls this period".
METRIC_UNITS = {
    "event_count": "call",
    "unique_users": "user",
    "unique_sessions": "session",
    "sum": "unit",
}
# How the period's billed value is read, by charge-by mode.
CHARGE_BY_PHRASES = {
    "sum_during_period": "this period",
    "max_during_period": "at peak this period",
    "last_during_period": "latest this period",
    "last_ever": "latest",
}


@dataclasses.dataclass
class MeterView:
    """One meter's usage this period, with its per-day series for the chart."""

    meter_id: str = ""
    name: str = ""
    unit: str = ""
    period_total: str = ""
    # "this period", "at peak this period"...: what `period_total` is.
    period_phrase: str = ""
    estimate: str = ""
    points: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class InvoiceLineView:
    description: str = ""
    amount: str = ""


def usage_range(subscription: Subscription | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The chart's days: this period up to the end of today (UTC), or the API's default (this month)."""
    if subscription is None or subscription.current_period_start is None:
        return None, None
    end_of_today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    period_end = subscription.current_period_end
    end = min(end_of_today, period_end) if period_end else end_of_today
    start = subscription.current_period_start
    return (start, end) if start < end else (None, None)


def meter_views(usage: Usage) -> list[MeterView]:
    views = []
    for meter in usage.meters:
        estimate = ""
        if meter.estimated_amount is not None and meter.currency:
            estimate = format_money(meter.estimated_amount, meter.currency)
        views.append(
            MeterView(
                meter_id=meter.meter_id,
                name=meter.name,
                unit=plural(METRIC_UNITS.get(meter.metric, "unit"), int(meter.period_value)),
                period_total=format_count(meter.period_value),
                period_phrase=CHARGE_BY_PHRASES.get(meter.charge_by, "this period"),
                estimate=estimate,
                points=[{"day": f"{p.start:%b} {p.start.day}", "value": p.value} for p in meter.series],
            )
        )
    return views


class DashboardState(rx.State):
    """What the signed-in customer pays for, has used, and will be billed."""

    loaded: bool = False
    error: str = ""

    has_subscription: bool = False
    plan_name: str = ""
    status: str = ""
    status_color: str = "gray"
    current_period: str = ""
    cancel_at_period_end: bool = False
    # "Jan 31, 2027": when a subscription set to cancel ends.
    ends_on: str = ""
    can_cancel: bool = False
    confirming_cancel: bool = False
    period_end: str = ""
    changing_cancellation: bool = False

    usage_available: bool = False
    meters: list[MeterView] = []

    invoice_available: bool = False
    invoice_total: str = ""
    invoice_period: str = ""
    invoice_lines: list[InvoiceLineView] = []
    estimate_total: str = ""

    opening_billing_portal: bool = False

    @rx.event
    async def load(self):
        auth = await self.get_state(AuthState)
        if not auth.session_token():
            return None
        self.error = ""
        api = auth.api()
        try:
            subscription = await api.subscription()
        except ApiError as exc:
            if exc.status == 401:
                return auth.session_expired()
            self.error = exc.message
            self.loaded = True
            return None
        self._show_subscription(subscription)
        start, end = usage_range(subscription, datetime.now(UTC))
        try:
            self._show_usage(await api.usage(start, end, "day"))
        except ApiError as exc:
            self._show_usage(None)
            self.error = f"Usage could not be loaded: {exc.message}"
        try:
            self._show_invoice(await api.upcoming_invoice())
        except ApiError as exc:
            self._show_invoice(None)
            self.error = f"The upcoming invoice could not be loaded: {exc.message}"
        self.loaded = True
        return None

    def _show_subscription(self, subscription: Subscription | None) -> None:
        self.has_subscription = subscription is not None
        if subscription is None:
            self.plan_name = self.status = self.current_period = self.ends_on = self.period_end = ""
            self.cancel_at_period_end = self.can_cancel = False
            return
        plan = subscription.plan
        product = plan.product_name or plan.price_id or ""
        self.plan_name = f"{product} · {plan.nickname}" if plan.nickname else product
        self.status = subscription.status.replace("_", " ")
        self.status_color = STATUS_COLORS.get(subscription.status, "gray")
        start, end = subscription.current_period_start, subscription.current_period_end
        self.current_period = f"{format_date(start)} {EN_DASH} {format_date(end)}" if start and end else ""
        self.period_end = format_date(end)
        self.cancel_at_period_end = subscription.cancel_at_period_end
        ending = subscription.cancel_at or (end if subscription.cancel_at_period_end else None)
        self.ends_on = format_date(ending) if subscription.status not in ENDED_STATUSES else ""
        self.can_cancel = subscription.status in CANCELABLE_STATUSES and not subscription.cancel_at_period_end

    def _show_usage(self, usage: Usage | None) -> None:
        self.usage_available = usage is not None
        self.meters = meter_views(usage) if usage is not None else []

    def _show_invoice(self, invoice: UpcomingInvoice | None) -> None:
        """Stripe's preview (billing the usage reported so far) and our estimate from all usage."""
        self.invoice_available = invoice is not None and (
            invoice.stripe is not None or invoice.estimate is not None
        )
        self.invoice_total = self.estimate_total = self.invoice_period = ""
        self.invoice_lines = []
        if invoice is None:
            return
        preview, estimate = invoice.stripe, invoice.estimate
        if preview is not None:
            currency = preview.currency
            self.invoice_total = format_money(preview.amount_due, currency)
            self.invoice_lines = [
                InvoiceLineView(
                    description=line.description or "", amount=format_money(line.amount, currency)
                )
                for line in preview.lines
            ]
            start, end = preview.period_start, preview.period_end
            if start and end:
                self.invoice_period = f"{format_date(start)} {EN_DASH} {format_date(end)}"
        if estimate is not None and (estimate.currency or preview is not None):
            currency = estimate.currency or (preview.currency if preview else "")
            self.estimate_total = format_money(estimate.amount, currency)
            if preview is None:
                self.invoice_lines = [
                    InvoiceLineView(
                        description=f"{line.name} ({format_count(line.quantity)})",
                        amount=format_money(line.amount, currency) if line.amount is not None else "",
                    )
                    for line in estimate.lines
                ]

    @rx.event
    async def open_billing_portal(self):
        """Send the browser to Stripe's customer portal (or the emulator's)."""
        auth = await self.get_state(AuthState)
        self.opening_billing_portal = True
        self.error = ""
        try:
            url = await auth.api().billing_portal()
        except ApiError as exc:
            self.opening_billing_portal = False
            if exc.status == 401:
                return auth.session_expired()
            self.error = f"Billing could not be opened: {exc.message}"
            return None
        self.opening_billing_portal = False
        return rx.redirect(url)

    # -- cancel at period end / resume ----------------------------------------------------------------

    @rx.event
    def ask_cancel(self) -> None:
        self.confirming_cancel = True

    @rx.event
    def set_cancel_dialog_open(self, is_open: bool) -> None:
        self.confirming_cancel = is_open

    @rx.event
    async def confirm_cancel(self):
        """Cancel at the end of the period: the plan stays until then and does not renew."""
        self.confirming_cancel = False
        return await self._set_cancellation(cancel=True)

    @rx.event
    async def resume(self):
        """Take back the cancellation: the subscription renews as before."""
        return await self._set_cancellation(cancel=False)

    async def _set_cancellation(self, *, cancel: bool):
        auth = await self.get_state(AuthState)
        api = auth.api()
        self.changing_cancellation = True
        self.error = ""
        try:
            subscription = await (api.cancel_subscription() if cancel else api.resume_subscription())
        except ApiError as exc:
            self.changing_cancellation = False
            if exc.status == 401:
                return auth.session_expired()
            action = "canceled" if cancel else "resumed"
            self.error = f"Your subscription could not be {action}: {exc.message}"
            return None
        self._show_subscription(subscription)
        try:
            self._show_invoice(await api.upcoming_invoice())  # no renewal once set to cancel
        except ApiError:
            self._show_invoice(None)
        self.changing_cancellation = False
        return None
