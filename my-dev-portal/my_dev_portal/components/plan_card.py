"""One plan of the portal's own pricing table, described as Stripe describes prices."""

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


def plan_card(plan: ObjectVar[PlanView]) -> rx.Component:
    choosing = PlansState.choosing_price_id == plan.price_id
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(plan.title, size="5", as_="h2"),
                rx.spacer(),
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
            rx.button(
                rx.cond(choosing, rx.spinner(size="2"), rx.icon("arrow_right", size=16)),
                "Choose ",
                plan.title,
                on_click=PlansState.choose_plan(plan.price_id),  # type: ignore[operator]
                disabled=PlansState.choosing_price_id != "",
                width="100%",
                size="3",
                custom_attrs={"data-price-id": plan.price_id},
            ),
            spacing="3",
            height="100%",
            width="100%",
        ),
        size="3",
        width="100%",
    )
