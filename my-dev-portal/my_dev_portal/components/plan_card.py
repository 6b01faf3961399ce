"""One plan of the portal's own pricing table, described as Stripe describes prices, with what the customer
can do with it: choose it (Checkout), switch to it (a subscriber), or nothing (the current plan)."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal.prices import PlanView, TierRow
from my_dev_portal.state.plans import PlansState


def _tier_row(row: ObjectVar[TierRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.units),
        rx.table.cell(row.price, text_align="right"),
    )


def _action(plan: ObjectVar[PlanView]) -> rx.Component:
    choosing = PlansState.choosing_price_id == plan.price_id
    current = PlansState.current_price_id == plan.price_id
    attrs = {"data-price-id": plan.price_id}
    return rx.cond(
        current,
        rx.button(
            rx.icon("check", size=16),
            "Current plan",
            disabled=True,
            variant="soft",
            width="100%",
            size="3",
            custom_attrs={**attrs, "data-current": "true"},
        ),
        rx.cond(
            PlansState.subscribed,
            rx.button(
                rx.cond(
                    (PlansState.switch_price_id == plan.price_id) & PlansState.switch_loading,
                    rx.spinner(size="2"),
                    rx.icon("arrow_left_right", size=16),
                ),
                "Switch to this plan",
                on_click=PlansState.start_switch(plan.price_id),  # type: ignore[operator]
                disabled=PlansState.switch_price_id != "",
                width="100%",
                size="3",
                custom_attrs={**attrs, "data-action": "switch"},
            ),
            rx.button(
                rx.cond(choosing, rx.spinner(size="2"), rx.icon("arrow_right", size=16)),
                "Choose ",
                plan.title,
                on_click=PlansState.choose_plan(plan.price_id),  # type: ignore[operator]
                disabled=(PlansState.choosing_price_id != "") | (PlansState.subscription_blocked != ""),
                width="100%",
                size="3",
                custom_attrs={**attrs, "data-action": "choose"},
            ),
        ),
    )


def plan_card(plan: ObjectVar[PlanView]) -> rx.Component:
    current = PlansState.current_price_id == plan.price_id
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(plan.title, size="5", as_="h2"),
                rx.spacer(),
                rx.cond(current, rx.badge("Current plan", color_scheme="green", variant="solid")),
                rx.badge(plan.usage_type, variant="soft"),
                width="100%",
                align="center",
            ),
            rx.cond(plan.nickname != "", rx.text(plan.product_name, color_scheme="gray", size="2")),
            rx.text(plan.headline, size="6", weight="bold", class_name="plan-headline"),
            rx.text(plan.cadence, color_scheme="gray", size="2"),
            rx.cond(
                plan.tiers.length() > 0,  # type: ignore[attr-defined]
                rx.vstack(
                    rx.text(plan.tier_heading, size="1", color_scheme="gray"),
                    rx.table.root(
                        rx.table.body(rx.foreach(plan.tiers, _tier_row)),
                        size="1",
                        width="100%",
                    ),
                    width="100%",
                    spacing="1",
                ),
            ),
            rx.foreach(plan.notes, lambda note: rx.text(note, size="1", color_scheme="gray")),
            rx.cond(plan.description != "", rx.text(plan.description, size="2")),
            rx.spacer(),
            _action(plan),
            spacing="3",
            height="100%",
            width="100%",
        ),
        size="3",
        width="100%",
        border=rx.cond(current, "2px solid var(--green-9)", "none"),
        custom_attrs={"data-plan-card": plan.price_id},
    )
