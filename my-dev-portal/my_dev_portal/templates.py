"""The page shell (navigation bar, footer) and the auth guard, as decorators on page functions."""

from __future__ import annotations

import functools
from collections.abc import Callable

import reflex as rx
from reflex.event import EventType

from my_dev_portal import routes
from my_dev_portal.components.admin_shell import admins_only_notice
from my_dev_portal.components.callouts import error_callout, loading_block
from my_dev_portal.state.admin import AdminGuardState
from my_dev_portal.state.auth import AuthState

Page = Callable[[], rx.Component]
NAV_HEIGHT = "64px"


def _nav_link(label: str, href: str) -> rx.Component:
    return rx.link(label, href=href, size="3", weight="medium", color_scheme="gray", high_contrast=True)


def navbar() -> rx.Component:
    return rx.el.header(
        rx.hstack(
            rx.link(
                rx.hstack(rx.icon("blocks", size=22), rx.heading("DevPortal", size="5"), align="center"),
                href=routes.LANDING,
                underline="none",
                high_contrast=True,
                aria_label="DevPortal home",
            ),
            rx.spacer(),
            rx.hstack(
                _nav_link("Pricing", routes.PRICING),
                rx.cond(
                    AuthState.signed_in,
                    rx.hstack(
                        rx.cond(AuthState.is_admin, _nav_link("Admin", routes.ADMIN)),
                        _nav_link("Dashboard", routes.DASHBOARD),
                        rx.button("Sign out", on_click=AuthState.logout, variant="soft", size="2"),
                        align="center",
                        spacing="4",
                    ),
                    rx.hstack(
                        _nav_link("Log in", routes.LOGIN),
                        rx.link(rx.button("Sign up", size="2"), href=routes.SIGNUP),
                        align="center",
                        spacing="4",
                    ),
                ),
                rx.color_mode.button(size="2", variant="ghost", aria_label="Switch light and dark mode"),
                align="center",
                spacing="4",
            ),
            align="center",
            height=NAV_HEIGHT,
            max_width="1100px",
            margin_x="auto",
            padding_x="1.25em",
            width="100%",
        ),
        style={
            "position": "sticky",
            "top": "0",
            "z_index": "10",
            "background": rx.color("gray", 1),
            "border_bottom": f"1px solid {rx.color('gray', 4)}",
        },
    )


def footer() -> rx.Component:
    return rx.el.footer(
        rx.hstack(
            rx.text("DevPortal · self-hosted API billing on Stripe", size="1", color_scheme="gray"),
            rx.spacer(),
            rx.link("Pricing", href=routes.PRICING, size="1", color_scheme="gray"),
            max_width="1100px",
            margin_x="auto",
            padding="1.25em",
            width="100%",
        ),
        style={"border_top": f"1px solid {rx.color('gray', 4)}"},
    )


def template(page: Page) -> Page:
    """Wrap a page's content in the navigation bar, a centred main column and the footer."""

    @functools.wraps(page)
    def shell() -> rx.Component:
        return rx.flex(
            navbar(),
            rx.el.main(
                rx.box(
                    page(),
                    max_width="1100px",
                    margin_x="auto",
                    padding_x="1.25em",
                    padding_y="2em",
                    width="100%",
                ),
                style={"flex": "1", "width": "100%"},
            ),
            footer(),
            direction="column",
            min_height="100vh",
            width="100%",
        )

    return shell


def protected(page: Page) -> Page:
    """Render a page only for a signed-in user; register it with `guard_on_load` so others are redirected."""

    @functools.wraps(page)
    def guarded() -> rx.Component:
        return rx.cond(AuthState.signed_in, page(), loading_block("Checking your session…", height="60vh"))

    return guarded


def guard_on_load(*events: EventType) -> list[EventType]:
    """on_load of a protected page: the session check first (-> /login?next=...), then the page's loaders."""
    return [AuthState.require_login, *events]


def admin_only(page: Page) -> Page:
    """Render a page only for an admin; others see "admins only". Register it with `admin_on_load`."""

    @functools.wraps(page)
    def guarded() -> rx.Component:
        return rx.cond(
            AuthState.is_admin,
            page(),
            rx.cond(
                AdminGuardState.error != "",
                error_callout(AdminGuardState.error),
                rx.cond(
                    AuthState.signed_in & (AuthState.user_id != ""),
                    admins_only_notice(),
                    loading_block("Checking your access…", height="60vh"),
                ),
            ),
        )

    return guarded


def admin_on_load(*events: EventType) -> list[EventType]:
    """on_load of an admin page: signed in (-> /login?next=...), rights checked, then the page's loaders."""
    return [AuthState.require_login, AdminGuardState.check, *events]
