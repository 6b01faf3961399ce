"""The create/edit meter form: name, Stripe price from the catalog, filters, metric, charge-by, active."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal.components.admin_filter_builder import filter_builder
from my_dev_portal.components.callouts import error_callout
from my_dev_portal.state.admin_meter_form import CHARGE_BY_FROM_PRICE, MeterFormState
from my_dev_portal.state.admin_meters import CHARGE_BY_LABELS, METRIC_LABELS, AdminMetersState, PriceChoice

S = MeterFormState

METRIC_HINTS = {
    "event_count": "One per matching API call.",
    "unique_users": "Distinct end users with a matching call.",
    "unique_sessions": "Distinct sessions (or API keys) with a matching call.",
    "sum": "Adds up a numeric field of each matching call.",
}


def _label(text: str, html_for: str) -> rx.Component:
    return rx.el.label(rx.text(text, size="2", weight="medium"), html_for=html_for)


def _field_error(message: rx.Var[str] | str, field_id: str, hint: rx.Var[str] | str = "") -> rx.Component:
    return rx.text(
        rx.cond(message != "", message, hint),
        id=f"{field_id}-error",
        size="1",
        color_scheme=rx.cond(message != "", "red", "gray"),
        aria_live="polite",
        min_height="1.4em",
    )


def _price_item(choice: ObjectVar[PriceChoice]) -> rx.Component:
    return rx.select.item(choice.label, value=choice.price_id)


def _price_picker() -> rx.Component:
    return rx.vstack(
        _label("Stripe price", "meter-price"),
        rx.select.root(
            rx.select.trigger(placeholder="Choose a metered price", id="meter-price", width="100%"),
            rx.select.content(rx.foreach(AdminMetersState.price_choices, _price_item)),
            value=S.form_price_id,
            on_change=S.set_form_price_id,
            size="3",
        ),
        _field_error(S.price_error, "meter-price", S.selected_price_summary),
        spacing="1",
        width="100%",
    )


def _metric_picker() -> rx.Component:
    return rx.vstack(
        rx.text("Metric", size="2", weight="medium", id="meter-metric-label"),
        rx.radio_cards.root(
            *(
                rx.radio_cards.item(
                    rx.vstack(
                        rx.text(label, weight="medium", size="2"),
                        rx.text(METRIC_HINTS[value], size="1", color_scheme="gray"),
                        spacing="0",
                        align="start",
                    ),
                    value=value,
                )
                for value, label in METRIC_LABELS.items()
            ),
            value=S.form_metric,
            on_value_change=S.set_form_metric,
            columns=rx.breakpoints(initial="1", sm="2", md="4"),
            size="1",
            width="100%",
            custom_attrs={"aria-labelledby": "meter-metric-label"},
        ),
        rx.cond(
            S.form_metric == "sum",
            rx.vstack(
                _label("Field to add up", "meter-sum-field"),
                rx.input(
                    id="meter-sum-field",
                    value=S.form_sum_field,
                    on_change=S.set_form_sum_field,
                    placeholder="weight, metadata.tokens or request.headers.x-units",
                    size="2",
                    width="100%",
                ),
                spacing="1",
                width="100%",
            ),
        ),
        _field_error(S.metric_error, "meter-metric"),
        spacing="1",
        width="100%",
    )


def _charge_by_picker() -> rx.Component:
    return rx.vstack(
        _label("Charge by", "meter-charge-by"),
        rx.select.root(
            rx.select.trigger(id="meter-charge-by", width="100%"),
            rx.select.content(
                rx.select.item("As the price aggregates usage", value=CHARGE_BY_FROM_PRICE),
                *(rx.select.item(label, value=value) for value, label in CHARGE_BY_LABELS.items()),
            ),
            value=S.form_charge_by,
            on_change=S.set_form_charge_by,
            size="2",
        ),
        _field_error(S.charge_by_error, "meter-charge-by", "Which value of the period Stripe bills."),
        spacing="1",
        width="100%",
    )


def meter_form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(rx.cond(S.editing, "Edit meter", "New meter"), size="4", as_="h2"),
                rx.spacer(),
                rx.icon_button(
                    rx.icon("x", size=16),
                    on_click=S.close_form,
                    variant="ghost",
                    color_scheme="gray",
                    aria_label="Close the meter form",
                ),
                width="100%",
                align="center",
            ),
            rx.cond(S.form_error != "", error_callout(S.form_error, id="meter-form-error")),
            rx.grid(
                rx.vstack(
                    _label("Name", "meter-name"),
                    rx.input(
                        id="meter-name",
                        value=S.form_name,
                        on_change=S.set_form_name,
                        placeholder="API calls",
                        size="3",
                        width="100%",
                        custom_attrs={
                            "aria-invalid": rx.cond(S.name_error != "", "true", "false"),
                            "aria-describedby": "meter-name-error",
                        },
                    ),
                    _field_error(S.name_error, "meter-name"),
                    spacing="1",
                    width="100%",
                ),
                _price_picker(),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            filter_builder(),
            _metric_picker(),
            rx.grid(
                _charge_by_picker(),
                rx.vstack(
                    rx.text("Status", size="2", weight="medium"),
                    rx.el.label(
                        rx.hstack(
                            rx.switch(checked=S.form_active, on_change=S.set_form_active, id="meter-active"),
                            rx.text("Active: counts usage and reports it to Stripe", size="2"),
                            align="center",
                        ),
                    ),
                    spacing="2",
                ),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            rx.hstack(
                rx.button(
                    rx.cond(S.saving, rx.spinner(size="2"), rx.icon("save", size=16)),
                    rx.cond(S.editing, "Save changes", "Create meter"),
                    on_click=S.save_meter,
                    disabled=S.saving,
                    size="3",
                    id="save-meter",
                ),
                rx.button("Cancel", on_click=S.close_form, variant="soft", color_scheme="gray", size="3"),
                spacing="3",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="meter-form",
        size="3",
    )
