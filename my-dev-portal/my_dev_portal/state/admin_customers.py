"""Admin customers: the list, and one customer's subscription, usage this period and last usage reports."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal

import reflex as rx

from my_dev_portal.api_client import AdminCustomer, AdminCustomerDetail, ApiError, CustomerMeterUsage
from my_dev_portal.prices import EN_DASH, format_count, format_date
from my_dev_portal.state.admin_base import AdminState
from my_dev_portal.state.admin_meters import CHARGE_BY_LABELS
from my_dev_portal.state.dashboard import STATUS_COLORS

REPORT_COLORS = {"sent": "green", "pending": "blue", "sending": "blue", "failed": "orange", "rejected": "red"}


@dataclasses.dataclass
class CustomerView:
    user_id: str = ""
    email: str = ""
    name: str = ""
    plan: str = ""
    status: str = ""
    status_color: str = "gray"
    stripe_customer_id: str = ""
    period: str = ""
    usage: str = ""
    # Some usage is not confirmed by Stripe yet (reports pending, failed or expired).
    behind: bool = False


@dataclasses.dataclass
class CustomerUsageView:
    name: str = ""
    charge_by: str = ""
    usage: str = ""
    reported: str = ""
    unreported: int = 0
    in_sync: bool = True


@dataclasses.dataclass
class ReportView:
    hour: str = ""
    meter: str = ""
    quantity: str = ""
    action: str = ""
    status: str = ""
    color: str = "gray"
    error: str = ""


def _period(start: datetime | None, end: datetime | None) -> str:
    return f"{format_date(start)} {EN_DASH} {format_date(end)}" if start and end else ""


def in_sync(usage: CustomerMeterUsage) -> bool:
    """Stripe has confirmed all of this period's usage; quantities are decimal strings, "1500" == "1500.0"."""
    return Decimal(usage.usage_quantity) == Decimal(usage.reported_quantity) and not usage.unreported_reports


def customer_view(customer: AdminCustomer | AdminCustomerDetail) -> CustomerView:
    subscription = customer.subscription
    return CustomerView(
        user_id=customer.user_id,
        email=customer.email,
        name=customer.name or "",
        plan=subscription.plan_nickname or subscription.price_id or "",
        status=subscription.status.replace("_", " "),
        status_color=STATUS_COLORS.get(subscription.status, "gray"),
        stripe_customer_id=customer.stripe_customer_id or "",
        period=_period(subscription.current_period_start, subscription.current_period_end),
        usage=" · ".join(f"{usage.name}: {format_count(usage.usage_quantity)}" for usage in customer.usage),
        behind=not all(in_sync(usage) for usage in customer.usage),
    )


class AdminCustomersState(AdminState, rx.State):
    """`/admin/customers`, and `/admin/customers/detail?user_id=...` for one customer."""

    search: str = ""
    customers: list[CustomerView] = []
    total: int = 0

    detail_loaded: bool = False
    detail_error: str = ""
    detail: CustomerView = CustomerView()
    detail_usage: list[CustomerUsageView] = []
    detail_reports: list[ReportView] = []

    @rx.var
    def shown_customers(self) -> list[CustomerView]:
        needle = self.search.strip().lower()
        if not needle:
            return self.customers
        return [c for c in self.customers if needle in f"{c.email} {c.name} {c.user_id}".lower()]

    @rx.event
    def set_search(self, value: str) -> None:
        self.search = value

    @rx.event
    async def load(self):
        api = await self._admin_api()
        if api is None:
            return None
        self.error = ""
        try:
            customers = await api.customers()
        except ApiError as exc:
            self.loaded = True
            return await self._failed(exc, "Customers could not be loaded")
        self.customers = [customer_view(customer) for customer in customers.data]
        self.total = customers.total
        self.loaded = True
        return None

    @rx.event
    async def load_detail(self):
        self.detail_loaded = False
        self.detail_error = ""
        user_id = self.router.url.query_parameters.get("user_id", "")
        api = await self._admin_api()
        if api is None:
            return None
        if not user_id:
            self.detail_error = "No customer was chosen."
            self.detail_loaded = True
            return None
        try:
            customer = await api.customer(user_id)
        except ApiError as exc:
            self.detail_loaded = True
            if (refused := await self._refusal(exc)) is not None:
                return refused
            self.detail_error = exc.message
            return None
        self._show_detail(customer)
        self.detail_loaded = True
        return None

    def _show_detail(self, customer: AdminCustomerDetail) -> None:
        self.detail = customer_view(customer)
        self.detail_usage = [
            CustomerUsageView(
                name=usage.name,
                charge_by=CHARGE_BY_LABELS.get(usage.charge_by, usage.charge_by),
                usage=format_count(usage.usage_quantity),
                reported=format_count(usage.reported_quantity),
                unreported=usage.unreported_reports,
                in_sync=in_sync(usage),
            )
            for usage in customer.usage
        ]
        meter_names = {usage.meter_id: usage.name for usage in customer.usage}
        self.detail_reports = [
            ReportView(
                hour=f"{report.hour:%Y-%m-%d %H:00} UTC",
                meter=meter_names.get(report.meter_id, report.meter_id),
                quantity=format_count(report.quantity),
                action=report.action,
                status=report.status,
                color=REPORT_COLORS.get(report.status, "gray"),
                error=report.last_error or "",
            )
            for report in customer.last_reports
        ]
