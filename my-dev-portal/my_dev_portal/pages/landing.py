"""`/`: what the portal offers and where to start."""

from __future__ import annotations

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.state.auth import AuthState
from my_dev_portal.templates import template


def _feature(icon: str, title: str, text: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon(icon, size=24, color=rx.color("accent", 10)),
            rx.heading(title, size="4", as_="h3"),
            rx.text(text, color_scheme="gray"),
        ),
        width="100%",
    )


@template
def landing() -> rx.Component:
    return rx.vstack(
        rx.vstack(
            rx.heading("Build on our API. Pay for what you use.", size="8", as_="h1", text_align="center"),
            rx.text(
                "Pick a plan, get an API key in under a minute, "
                "and watch your usage and next invoice as you go.",
                size="4",
                color_scheme="gray",
                text_align="center",
                max_width="40em",
            ),
            rx.hstack(
                rx.cond(
                    AuthState.signed_in,
                    rx.link(rx.button("Open dashboard", size="4"), href=routes.DASHBOARD),
                    rx.link(rx.button("Create an account", size="4"), href=routes.SIGNUP),
                ),
                rx.link(rx.button("See pricing", size="4", variant="outline"), href=routes.PRICING),
                spacing="3",
                wrap="wrap",
                justify="center",
            ),
            align="center",
            spacing="5",
            padding_y="3em",
            width="100%",
        ),
        rx.grid(
            _feature("key_round", "Keys in seconds", "Your first API key arrives with your subscription."),
            _feature("chart_column", "Usage you can see", "Per-day usage for every meter, as it is billed."),
            _feature(
                "receipt", "Billing by Stripe", "Checkout, invoices and payment methods handled by Stripe."
            ),
            columns=rx.breakpoints(initial="1", md="3"),
            spacing="4",
            width="100%",
        ),
        spacing="6",
        width="100%",
    )
