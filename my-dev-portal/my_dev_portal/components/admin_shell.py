"""The admin console's frame: title, section navigation, and the "admins only" notice for everyone else."""

from __future__ import annotations

import reflex as rx

from my_dev_portal import routes

# (label, route, icon) of each console section, in the order the navigation shows them.
SECTIONS = [
    ("Overview", routes.ADMIN, "layout_dashboard"),
    ("Billing provider", routes.ADMIN_BILLING_PROVIDER, "credit_card"),
    ("Meters", routes.ADMIN_METERS, "gauge"),
    ("Customers", routes.ADMIN_CUSTOMERS, "users"),
    ("Report runs", routes.ADMIN_REPORT_RUNS, "activity"),
    ("Tokens", routes.ADMIN_TOKENS, "key_round"),
]


def _section_link(label: str, href: str, icon: str, active: bool) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon(icon, size=16), rx.text(label, size="2", weight="medium"), align="center", spacing="2"
        ),
        href=href,
        underline="none",
        color_scheme="iris" if active else "gray",
        high_contrast=not active,
        padding_x="0.75em",
        padding_y="0.45em",
        border_radius="var(--radius-3)",
        background=rx.color("accent", 3) if active else "transparent",
        custom_attrs={"aria-current": "page"} if active else {},
        _hover={"background": rx.color("gray", 3)},
    )


def admin_nav(active_route: str) -> rx.Component:
    return rx.el.nav(
        rx.hstack(
            *(_section_link(label, href, icon, href == active_route) for label, href, icon in SECTIONS),
            spacing="1",
            wrap="wrap",
        ),
        aria_label="Admin console sections",
        width="100%",
        style={"border_bottom": f"1px solid {rx.color('gray', 4)}", "padding_bottom": "0.5em"},
    )


def admin_page(title: str, description: str, active_route: str, *children: rx.Component) -> rx.Component:
    """A console page: the section navigation, the page's title and one line saying what it is for."""
    return rx.vstack(
        rx.hstack(
            rx.badge(rx.icon("shield", size=14), "Admin", variant="soft", color_scheme="iris", size="2"),
            rx.text("Provider console", size="2", color_scheme="gray"),
            align="center",
        ),
        admin_nav(active_route),
        rx.vstack(
            rx.heading(title, size="7", as_="h1"),
            rx.text(description, color_scheme="gray"),
            spacing="1",
            padding_top="0.5em",
        ),
        *children,
        spacing="4",
        width="100%",
    )


def admins_only_notice() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.icon("shield_alert", size=32, color=rx.color("orange", 9)),
                rx.heading("Admins only", size="6", as_="h1"),
                rx.text(
                    "The provider console is for the portal's administrators. "
                    "Your account can use the API, its keys and billing from the dashboard.",
                    color_scheme="gray",
                    text_align="center",
                ),
                rx.link(rx.button("Go to your dashboard"), href=routes.DASHBOARD),
                align="center",
                spacing="3",
            ),
            size="4",
            max_width="30em",
        ),
        width="100%",
        padding_y="4em",
        id="admins-only",
        role="alert",
    )
