"""Stripe's embeddable pricing table as a Reflex component: a custom element plus Stripe's script."""

from __future__ import annotations

import reflex as rx
from reflex.components.el.element import Element
from reflex_base.constants.compiler import MemoizationDisposition, MemoizationMode

PRICING_TABLE_SCRIPT = "https://js.stripe.com/v3/pricing-table.js"


class StripePricingTable(Element):
    """`<stripe-pricing-table>`; its attributes keep Stripe's dashed names, so they go in as custom attrs."""

    tag = "stripe-pricing-table"
    # Memoizing would name a JS function after the tag, and a dash is not allowed in one.
    _memoization_mode = MemoizationMode(disposition=MemoizationDisposition.NEVER, recursive=False)


def stripe_pricing_table(
    pricing_table_id: str | rx.Var[str],
    publishable_key: str | rx.Var[str],
    client_reference_id: str | rx.Var[str],
    customer_email: str | rx.Var[str],
) -> rx.Component:
    """Stripe's pricing table; `client_reference_id` ties the checkout it starts to the portal's user.

    Only a publishable key belongs here: the page is public, whatever is passed in is visible to anyone.
    """
    return rx.fragment(
        rx.script(src=PRICING_TABLE_SCRIPT, async_=True),
        StripePricingTable.create(
            custom_attrs={
                "pricing-table-id": pricing_table_id,
                "publishable-key": publishable_key,
                "client-reference-id": client_reference_id,
                "customer-email": customer_email,
            },
        ),
    )
