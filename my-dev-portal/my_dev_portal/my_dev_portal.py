"""The Reflex app: registers the portal's pages and nothing else."""

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.pages.checkout_return import checkout_return
from my_dev_portal.pages.dashboard import dashboard
from my_dev_portal.pages.landing import landing
from my_dev_portal.pages.login import login
from my_dev_portal.pages.pricing import pricing
from my_dev_portal.pages.signup import signup
from my_dev_portal.state.auth import AuthState
from my_dev_portal.state.checkout import CheckoutReturnState
from my_dev_portal.state.dashboard import DashboardState
from my_dev_portal.state.keys import KeysState
from my_dev_portal.state.plans import PlansState
from my_dev_portal.templates import guard_on_load

app = rx.App()
app.add_page(landing, route=routes.LANDING, title="DevPortal", on_load=AuthState.load_user)
app.add_page(
    signup, route=routes.SIGNUP, title="Sign up · DevPortal", on_load=AuthState.redirect_if_signed_in
)
app.add_page(login, route=routes.LOGIN, title="Log in · DevPortal", on_load=AuthState.redirect_if_signed_in)
app.add_page(
    pricing, route=routes.PRICING, title="Pricing · DevPortal", on_load=[AuthState.load_user, PlansState.load]
)
app.add_page(
    checkout_return,
    route=routes.CHECKOUT_RETURN,
    title="Subscription · DevPortal",
    on_load=guard_on_load(CheckoutReturnState.complete),
)
app.add_page(
    dashboard,
    route=routes.DASHBOARD,
    title="Dashboard · DevPortal",
    on_load=guard_on_load(DashboardState.load, KeysState.load_keys),
)
