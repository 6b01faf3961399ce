"""The meters table with each meter's edit, Meter Test and delete actions, and the delete confirmation."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal.state.admin_meter_delete import MeterDeleteState
from my_dev_portal.state.admin_meter_form import MeterFormState
from my_dev_portal.state.admin_meter_test import MeterTestState
from my_dev_portal.state.admin_meters import AdminMetersState, MeterView


def _meter_row(meter: ObjectVar[MeterView]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(meter.name, weight="medium"),
                rx.text(meter.filters, size="1", color_scheme="gray", max_width="28em", trim="end"),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(meter.price, size="2"),
                rx.code(meter.price_id, size="1", variant="ghost"),
                spacing="0",
            )
        ),
        rx.table.cell(rx.text(meter.metric, size="2")),
        rx.table.cell(rx.text(meter.charge_by, size="2")),
        rx.table.cell(
            rx.cond(
                meter.active,
                rx.badge("active", color_scheme="green", variant="soft"),
                rx.badge("inactive", color_scheme="gray", variant="soft"),
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    rx.cond(
                        MeterTestState.testing_id == meter.id,
                        rx.spinner(size="1"),
                        rx.icon("flask_conical", size=14),
                    ),
                    "Meter Test",
                    on_click=MeterTestState.prepare_test(meter.id),  # type: ignore[operator]
                    disabled=MeterTestState.testing_id != "",
                    size="1",
                    variant="soft",
                    color_scheme="green",
                    aria_label=f"Prepare the Meter Test of {meter.name}",
                    class_name="run-meter-test",
                ),
                rx.button(
                    rx.icon("pencil", size=14),
                    "Edit",
                    on_click=MeterFormState.edit_meter(meter.id),  # type: ignore[operator]
                    size="1",
                    variant="soft",
                    aria_label=f"Edit meter {meter.name}",
                ),
                rx.icon_button(
                    rx.icon("trash_2", size=14),
                    on_click=MeterDeleteState.ask_delete(meter.id, meter.name),  # type: ignore[operator]
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    aria_label=f"Delete meter {meter.name}",
                ),
                spacing="2",
            )
        ),
        align="center",
        custom_attrs={"data-meter-id": meter.id, "data-meter-name": meter.name},
    )


def _delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete this meter?"),
            rx.alert_dialog.description(
                "Meter “",
                MeterDeleteState.delete_name,
                "” and its usage rollups are deleted, and no more usage is reported for it. "
                "Usage already reported to Stripe stays there.",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Keep meter", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Delete meter",
                        color_scheme="red",
                        on_click=MeterDeleteState.delete_confirmed,
                        id="confirm-delete",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
        open=MeterDeleteState.confirming_delete,
        on_open_change=MeterDeleteState.set_delete_dialog_open,
    )


def meters_table() -> rx.Component:
    return rx.box(
        rx.cond(
            AdminMetersState.meters.length() > 0,  # type: ignore[attr-defined]
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Meter"),
                            rx.table.column_header_cell("Stripe price"),
                            rx.table.column_header_cell("Metric"),
                            rx.table.column_header_cell("Charge by"),
                            rx.table.column_header_cell("Status"),
                            rx.table.column_header_cell(rx.el.span("Actions", class_name="rt-sr-only")),
                        )
                    ),
                    rx.table.body(rx.foreach(AdminMetersState.meters, _meter_row)),
                    width="100%",
                    id="meters-table",
                    variant="surface",
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.card(
                rx.vstack(
                    rx.icon("gauge", size=28, color=rx.color("gray", 8)),
                    rx.text(
                        "No meter yet. A meter turns API calls into billable usage.", color_scheme="gray"
                    ),
                    align="center",
                    padding_y="2em",
                ),
                width="100%",
            ),
        ),
        _delete_dialog(),
        width="100%",
    )
