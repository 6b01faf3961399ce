"""The page Stripe Checkout returns to: completes the checkout session and shows the first key once."""

from __future__ import annotations

from typing import Literal

import reflex as rx

from my_dev_portal.api_client import ApiError, CheckoutCompletion
from my_dev_portal.prices import format_date
from my_dev_portal.state.auth import AuthState

Outcome = Literal["loading", "done", "canceled", "unpaid", "not_found", "error"]
# 404: unknown, or another user's, checkout session; 409: not paid (yet).
_OUTCOME_OF_STATUS: dict[int, Outcome] = {404: "not_found", 409: "unpaid"}


def _plan_name(completion: CheckoutCompletion) -> str:
    """The subscribed product's id: all the completion says; the subscription's plan names it later."""
    if completion.subscription is None:
        return ""
    return next((item.product for item in completion.subscription.items if item.product), "")
    for item in completion.subscription.items:
        for candidate in (item.product, item.price):
            if isinstance(candidate, dict):
                name = candidate.get("name") or candidate.get("nickname") or candidate.get("product_name")
                if name:
                    return str(name)
        if isinstance(item.product, str):
            return item.product
    return ""


class CheckoutReturnState(rx.State):
    """Outcome of `POST /v1/checkout/sessions/{id}/complete`; reloading repeats it harmlessly."""

    outcome: Outcome = "loading"
    message: str = ""
    plan_name: str = ""
    subscription_status: str = ""
    period_end: str = ""
    keys_created: int = 0
    # Shown once: the API returns a secret only in the response that created the key.
    key_name: str = ""
    key_prefix: str = ""
    key_secret: str = ""

    @rx.event
    async def complete(self):
        self.reset()
        query = self.router.url.query_parameters
        checkout_session_id = query.get("checkout_session_id", "").strip()
        # Stripe leaves {CHECKOUT_SESSION_ID} unfilled when the page is opened by hand.
        if not checkout_session_id or "canceled" in query or checkout_session_id.startswith("{"):
            self.outcome = "canceled"
            return
        auth = await self.get_state(AuthState)
        if not auth.session_token():
            return  # The guard is already sending the user to log in.
        yield
        api = auth.api()
        try:
            completion = await api.complete_checkout_session(checkout_session_id)
        except ApiError as exc:
            if exc.status == 401:
                yield auth.session_expired()
                return
            self.outcome = _OUTCOME_OF_STATUS.get(exc.status, "error")
            self.message = exc.message
            return
        self.plan_name = _plan_name(completion)
        try:
            subscription = await api.subscription()
        except ApiError:
            subscription = None
        if subscription is not None:
            self.plan_name = subscription.plan.nickname or subscription.plan.product_name or ""
        if completion.subscription is not None:
            self.subscription_status = completion.subscription.status
            self.period_end = format_date(completion.subscription.current_period_end)
        self.keys_created = completion.keys_created
        if completion.key is not None:
            self.key_name = completion.key.name
            self.key_prefix = completion.key.prefix
            self.key_secret = completion.key.secret
        self.outcome = "done"

    @rx.event
    def forget_secret(self) -> None:
        """Once the user has copied the key, the portal keeps no copy of it."""
        self.key_secret = ""
