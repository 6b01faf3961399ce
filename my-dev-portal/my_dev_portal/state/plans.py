"""The pricing page: plans to choose from, and starting Stripe Checkout for the one picked."""

from __future__ import annotations

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.api_client import ApiError
from my_dev_portal.config import get_settings
from my_dev_portal.prices import PlanView, describe_plan
from my_dev_portal.state.auth import AuthState


class PlansState(rx.State):
    """Plans from `GET /v1/plans`, or the ids Stripe's embedded pricing table needs."""

    plans: list[PlanView] = []
    loaded: bool = False
    error: str = ""
    checkout_canceled: bool = False
    # The price whose "Choose" button was pressed; its button spins until the browser leaves.
    choosing_price_id: str = ""

    # Public by design: a publishable key and a pricing-table id are meant for browsers.
    stripe_pricing_table_id: str = ""
    stripe_publishable_key: str = ""

    @rx.var
    def uses_stripe_pricing_table(self) -> bool:
        return bool(self.stripe_pricing_table_id and self.stripe_publishable_key)

    @rx.event
    async def load(self):
        settings = get_settings()
        self.stripe_pricing_table_id = settings.STRIPE_PRICING_TABLE_ID
        self.stripe_publishable_key = settings.STRIPE_PUBLISHABLE_KEY
        self.checkout_canceled = "canceled" in self.router.url.query_parameters
        self.choosing_price_id = ""
        self.error = ""
        if self.uses_stripe_pricing_table:
            self.loaded = True
            return
        auth = await self.get_state(AuthState)
        try:
            plans = await auth.api().plans()
        except ApiError as exc:
            self.error = f"Plans could not be loaded: {exc.message}"
            self.plans = []
        else:
            self.plans = [describe_plan(plan) for plan in plans]
        self.loaded = True

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
