"""The Reflex app: registers the portal's pages and nothing else."""

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.pages.admin import admin_overview
from my_dev_portal.pages.admin_billing_provider import admin_billing_provider
from my_dev_portal.pages.admin_customer import admin_customer
from my_dev_portal.pages.admin_customers import admin_customers
from my_dev_portal.pages.admin_meters import admin_meters
from my_dev_portal.pages.admin_report_runs import admin_report_runs
from my_dev_portal.pages.admin_tokens import admin_tokens
from my_dev_portal.pages.checkout_return import checkout_return
from my_dev_portal.pages.dashboard import dashboard
from my_dev_portal.pages.landing import landing
from my_dev_portal.pages.login import login
from my_dev_portal.pages.pricing import pricing
from my_dev_portal.pages.session_handoff import signing_in, signing_out
from my_dev_portal.pages.signup import signup
from my_dev_portal.security_headers import with_security_headers
from my_dev_portal.session_routes import session_app
from my_dev_portal.state.admin import AdminOverviewState
from my_dev_portal.state.admin_billing_provider import AdminBillingProviderState
from my_dev_portal.state.admin_customers import AdminCustomersState
from my_dev_portal.state.admin_meters import AdminMetersState
from my_dev_portal.state.admin_report_runs import AdminReportRunsState
from my_dev_portal.state.admin_tokens import AdminTokensState
from my_dev_portal.state.auth import AuthState
from my_dev_portal.state.checkout import CheckoutReturnState
from my_dev_portal.state.dashboard import DashboardState
from my_dev_portal.state.keys import KeysState
from my_dev_portal.state.plans import PlansState
from my_dev_portal.templates import admin_on_load, guard_on_load

# The session routes (they set and clear the HttpOnly session cookie) ahead of the pages and the backend,
# and security headers on every response of all three (prod serves the compiled pages from this app).
app = rx.App(api_transformer=[session_app(), with_security_headers])
app.add_page(landing, route=routes.LANDING, title="DevPortal", on_load=AuthState.load_user)
app.add_page(
    signup, route=routes.SIGNUP, title="Sign up · DevPortal", on_load=AuthState.redirect_if_signed_in
)
app.add_page(login, route=routes.LOGIN, title="Log in · DevPortal", on_load=AuthState.redirect_if_signed_in)
app.add_page(signing_in, route=routes.SIGNING_IN, title="Signing in · DevPortal")
app.add_page(signing_out, route=routes.SIGNING_OUT, title="Signing out · DevPortal")
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

app.add_page(
    admin_overview,
    route=routes.ADMIN,
    title="Admin · DevPortal",
    on_load=admin_on_load(AdminOverviewState.load),
)
app.add_page(
    admin_billing_provider,
    route=routes.ADMIN_BILLING_PROVIDER,
    title="Billing provider · Admin · DevPortal",
    on_load=admin_on_load(AdminBillingProviderState.load),
)
app.add_page(
    admin_meters,
    route=routes.ADMIN_METERS,
    title="Meters · Admin · DevPortal",
    on_load=admin_on_load(AdminMetersState.load),
)
app.add_page(
    admin_customers,
    route=routes.ADMIN_CUSTOMERS,
    title="Customers · Admin · DevPortal",
    on_load=admin_on_load(AdminCustomersState.load),
)
app.add_page(
    admin_customer,
    route=routes.ADMIN_CUSTOMER,
    title="Customer · Admin · DevPortal",
    on_load=admin_on_load(AdminCustomersState.load_detail),
)
app.add_page(
    admin_report_runs,
    route=routes.ADMIN_REPORT_RUNS,
    title="Report runs · Admin · DevPortal",
    on_load=admin_on_load(AdminReportRunsState.load),
)
app.add_page(
    admin_tokens,
    route=routes.ADMIN_TOKENS,
    title="Tokens · Admin · DevPortal",
    on_load=admin_on_load(AdminTokensState.load),
)
