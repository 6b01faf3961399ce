"""Warnings of the meters page: metered prices no active meter bills (with a "Create meter" shortcut each),
and prices more than one active meter bills."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal.state.admin_meter_form import MeterFormState
from my_dev_portal.state.admin_meters import AdminMetersState, DoubledView, UnbilledView

S = AdminMetersState


def _unbilled_row(price: ObjectVar[UnbilledView]) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(price.label, weight="medium", size="2"),
            rx.hstack(
                rx.code(price.price_id, size="1", variant="ghost"),
                rx.cond(price.note != "", rx.text("· ", price.note, size="1", color_scheme="gray")),
                spacing="1",
                align="center",
            ),
            spacing="0",
        ),
        rx.spacer(),
        rx.button(
            rx.icon("plus", size=14),
            "Create meter",
            on_click=MeterFormState.new_meter_for_price(price.price_id),  # type: ignore[operator]
            disabled=MeterFormState.form_open,
            size="1",
            aria_label=f"Create a meter for {price.label}",
            class_name="create-meter-for-price",
            custom_attrs={"data-price-id": price.price_id},
        ),
        align="center",
        width="100%",
        wrap="wrap",
    )


def _doubled_row(price: ObjectVar[DoubledView]) -> rx.Component:
    return rx.text(
        rx.el.strong(price.label),
        " (",
        rx.code(price.price_id, size="1", variant="ghost"),
        ") is billed by ",
        price.meters,
        ": each reports the same customers' usage to Stripe. Switch all but one off.",
        size="2",
    )


def meter_coverage() -> rx.Component:
    return rx.fragment(
        rx.cond(
            S.unbilled.length() > 0,  # type: ignore[attr-defined]
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle_alert")),
                rx.vstack(
                    rx.callout.text(
                        rx.el.strong("Usage for these prices is never billed."),
                        " They are metered prices of your Stripe catalog, but no active meter counts their "
                        "calls, so their subscribers' usage never reaches Stripe.",
                    ),
                    rx.foreach(S.unbilled, _unbilled_row),
                    spacing="2",
                    width="100%",
                ),
                color_scheme="orange",
                role="alert",
                width="100%",
                id="unbilled-prices",
            ),
        ),
        rx.cond(
            S.double_metered.length() > 0,  # type: ignore[attr-defined]
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle_alert")),
                rx.vstack(
                    rx.callout.text(rx.el.strong("Usage for these prices is billed twice.")),
                    rx.foreach(S.double_metered, _doubled_row),
                    spacing="2",
                    width="100%",
                ),
                color_scheme="red",
                role="alert",
                width="100%",
                id="double-metered-prices",
            ),
        ),
        rx.cond(
            S.coverage_error != "",
            rx.callout(S.coverage_error, icon="info", color_scheme="gray", width="100%"),
        ),
    )
