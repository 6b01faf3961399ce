"""`/pricing`: the plans, and Stripe Checkout for the one picked."""

from __future__ import annotations

import reflex as rx

from my_dev_portal.components.pricing_table import pricing_table
from my_dev_portal.templates import template


@template
def pricing() -> rx.Component:
    return rx.vstack(
        rx.heading("Pricing", size="8", as_="h1"),
        rx.text(
            "Subscribe through Stripe Checkout; your first API key is created with the subscription.",
            color_scheme="gray",
            size="3",
        ),
        pricing_table(),
        spacing="4",
        width="100%",
    )
