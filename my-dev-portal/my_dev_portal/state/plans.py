"""The pricing page: plans to choose from, Stripe Checkout for a first plan, and switching plans.

A signed-in customer's subscription (GET /v1/subscription) marks the current plan. With an active (or
trialing) subscription every other plan offers "Switch to this plan": a dialog shows Stripe's proration
preview (POST /v1/subscription/change/preview) and confirming switches with the preview's token, so the
customer is billed what the dialog said. With Stripe's Pricing Table embedded instead of our grid, a
subscribed customer switches in Stripe's billing portal (its subscription_update flow): the embedded table
would start a second subscription.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.api_client import ApiError, PlanChangePreview, Subscription
from my_dev_portal.config import get_settings
from my_dev_portal.prices import PlanView, describe_plan, format_date, format_money
from my_dev_portal.state.auth import AuthState

# Subscriptions whose plan can be switched here; others are settled in the billing portal first.
SWITCHABLE_STATUSES = frozenset({"active", "trialing"})


@dataclasses.dataclass
class SwitchLine:
    """One line of the switch preview: "Unused time on Basic after 16 Jan 2026", "-$6.77"."""

    description: str = ""
    amount: str = ""


def plan_title(subscription: Subscription) -> str:
    plan = subscription.plan
    return plan.nickname or plan.product_name or plan.price_id or ""


class PlansState(rx.State):
    """Plans from `GET /v1/plans`, or the ids Stripe's embedded pricing table needs; the current plan."""

    plans: list[PlanView] = []
    loaded: bool = False
    error: str = ""
    notice: str = ""
    checkout_canceled: bool = False
    # The price whose "Choose" button was pressed; its button spins until the browser leaves.
    choosing_price_id: str = ""

    # The signed-in customer's subscription: its price marks the current plan.
    current_price_id: str = ""
    current_plan_name: str = ""
    subscription_status: str = ""

    # The switch being considered: the dialog is open while switch_price_id is set.
    switch_price_id: str = ""
    switch_plan_name: str = ""
    switch_loading: bool = False
    switch_confirming: bool = False
    switch_error: str = ""
    switch_lines: list[SwitchLine] = []
    switch_proration: str = ""
    switch_due: str = ""
    switch_due_label: str = ""
    switch_as_of: str = ""
    switch_token: str = ""

    opening_portal: bool = False

    # Public by design: a publishable key and a pricing-table id are meant for browsers.
    stripe_pricing_table_id: str = ""
    stripe_publishable_key: str = ""

    @rx.var
    def uses_stripe_pricing_table(self) -> bool:
        return bool(self.stripe_pricing_table_id and self.stripe_publishable_key)

    @rx.var
    def subscribed(self) -> bool:
        """A subscription whose plan can be switched: the other plans offer "Switch to this plan"."""
        return self.subscription_status in SWITCHABLE_STATUSES

    @rx.var
    def switch_dialog_open(self) -> bool:
        return bool(self.switch_price_id)

    @rx.var
    def subscription_blocked(self) -> str:
        """Why plans cannot be switched now, for a subscription that is neither switchable nor ended."""
        if not self.subscription_status or self.subscription_status in SWITCHABLE_STATUSES:
            return ""
        status = self.subscription_status.replace("_", " ")
        return (
            f"Your subscription is {status}. Settle it under Manage billing on your dashboard before "
            "switching plans."
        )

    @rx.event
    async def load(self):
        settings = get_settings()
        self.stripe_pricing_table_id = settings.STRIPE_PRICING_TABLE_ID
        self.stripe_publishable_key = settings.STRIPE_PUBLISHABLE_KEY
        self.checkout_canceled = "canceled" in self.router.url.query_parameters
        self.choosing_price_id = ""
        self.error = self.notice = ""
        self._close_switch()
        auth = await self.get_state(AuthState)
        await self._load_subscription(auth)
        if self.uses_stripe_pricing_table:
            self.loaded = True
            return
        try:
            plans = await auth.api().plans()
        except ApiError as exc:
            self.error = f"Plans could not be loaded: {exc.message}"
            self.plans = []
        else:
            self.plans = [describe_plan(plan) for plan in plans]
        self.loaded = True

    async def _load_subscription(self, auth: AuthState) -> None:
        self.current_price_id = self.current_plan_name = self.subscription_status = ""
        if not auth.session_token():
            return
        try:
            subscription = await auth.api().subscription()
        except ApiError:
            return  # the page is public: without a readable subscription it shows the plans to choose
        if subscription is None or subscription.status in ("canceled", "incomplete_expired"):
            return
        self._show_subscription(subscription)

    def _show_subscription(self, subscription: Subscription) -> None:
        self.current_price_id = subscription.plan.price_id or ""
        self.current_plan_name = plan_title(subscription)
        self.subscription_status = subscription.status

    @rx.event
    async def choose_plan(self, price_id: str):
        """Start Checkout for `price_id` and send the browser to the page the API returns."""
        auth = await self.get_state(AuthState)
        if not auth.session_token():
            return rx.redirect(routes.login_with_next(routes.PRICING))
        self.error = ""
        self.choosing_price_id = price_id
        try:
            session = await auth.api().create_checkout_session(price_id)
        except ApiError as exc:
            self.choosing_price_id = ""
            if exc.status == 401:
                return auth.session_expired()
            self.error = exc.message
            return None
        return rx.redirect(session.url)

    # -- switching plans ------------------------------------------------------------------------------

    def _close_switch(self) -> None:
        self.switch_price_id = self.switch_plan_name = self.switch_error = ""
        self.switch_proration = self.switch_due = self.switch_due_label = self.switch_as_of = ""
        self.switch_token = ""
        self.switch_lines = []
        self.switch_loading = self.switch_confirming = False

    @rx.event
    async def start_switch(self, price_id: str):
        """Open the confirmation dialog for switching to `price_id` and fetch Stripe's preview of it."""
        auth = await self.get_state(AuthState)
        if not auth.session_token():
            yield rx.redirect(routes.login_with_next(routes.PRICING))
            return
        self._close_switch()
        self.error = self.notice = ""
        self.switch_price_id = price_id
        self.switch_plan_name = next((p.title for p in self.plans if p.price_id == price_id), price_id)
        self.switch_loading = True
        yield
        try:
            preview = await auth.api().preview_plan_change(price_id)
        except ApiError as exc:
            self.switch_loading = False
            if exc.status == 401:
                self._close_switch()
                yield auth.session_expired()
                return
            self.switch_error = exc.message
            return
        self._show_preview(preview)

    def _show_preview(self, preview: PlanChangePreview) -> None:
        currency = preview.currency
        self.switch_loading = False
        self.switch_token = preview.preview_token
        self.switch_lines = [
            SwitchLine(description=line.description or "", amount=format_money(line.amount, currency))
            for line in preview.lines
            if line.proration
        ]
        self.switch_proration = format_money(preview.proration_amount, currency)
        self.switch_due = format_money(preview.invoice_amount_due, currency)
        if preview.invoice_now:
            self.switch_due_label = "Charged now"
        else:
            when = format_date(preview.invoice_date)
            self.switch_due_label = f"Your next invoice, on {when}" if when else "Your next invoice"
        self.switch_as_of = format_date(preview.proration_date)

    @rx.event
    def set_switch_dialog_open(self, is_open: bool) -> None:
        if not is_open and not self.switch_confirming:
            self._close_switch()

    @rx.event
    async def confirm_switch(self):
        """Switch as previewed; the new plan becomes the current one."""
        if not self.switch_price_id or not self.switch_token or self.switch_confirming:
            return
        auth = await self.get_state(AuthState)
        self.switch_confirming = True
        self.switch_error = ""
        yield
        try:
            subscription = await auth.api().change_plan(self.switch_price_id, self.switch_token)
        except ApiError as exc:
            self.switch_confirming = False
            if exc.status == 401:
                self._close_switch()
                yield auth.session_expired()
                return
            self.switch_error = exc.message
            return
        self._show_subscription(subscription)
        self._close_switch()
        self.notice = f"You are now on {self.current_plan_name}. Your dashboard shows the next invoice."

    @rx.event
    async def open_plan_switch_portal(self):
        """Stripe's billing portal on its plan-switching flow (the Pricing Table path)."""
        auth = await self.get_state(AuthState)
        self.opening_portal = True
        self.error = ""
        try:
            url = await auth.api().billing_portal("subscription_update")
        except ApiError as exc:
            self.opening_portal = False
            if exc.status == 401:
                return auth.session_expired()
            self.error = f"The billing portal could not be opened: {exc.message}"
            return None
        self.opening_portal = False
        return rx.redirect(url)
