"""The confirmation dialog of a plan switch: Stripe's proration preview, then "Confirm switch"."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal.components.callouts import error_callout
from my_dev_portal.state.plans import PlansState, SwitchLine


def _line(line: ObjectVar[SwitchLine]) -> rx.Component:
    return rx.table.row(rx.table.cell(line.description), rx.table.cell(line.amount, text_align="right"))


def _preview() -> rx.Component:
    return rx.vstack(
        rx.cond(
            PlansState.switch_lines.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(
                rx.text("Stripe prorates the switch as of ", PlansState.switch_as_of, ":", size="2"),
                rx.table.root(
                    rx.table.body(rx.foreach(PlansState.switch_lines, _line)),
                    size="1",
                    width="100%",
                    id="switch-lines",
                ),
                rx.hstack(
                    rx.text("Proration", weight="bold", size="2"),
                    rx.spacer(),
                    rx.text(PlansState.switch_proration, weight="bold", size="2", id="switch-proration"),
                    width="100%",
                ),
                width="100%",
                spacing="2",
            ),
            rx.text("No proration: the new price applies from the next period.", size="2"),
        ),
        rx.hstack(
            rx.text(PlansState.switch_due_label, size="2"),
            rx.spacer(),
            rx.text(PlansState.switch_due, size="2", id="switch-due"),
            width="100%",
        ),
        width="100%",
        spacing="3",
    )


def switch_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Switch to ", PlansState.switch_plan_name, "?"),
            rx.dialog.description(
                "You are on ",
                rx.text.strong(PlansState.current_plan_name),
                ". The switch takes effect now.",
                size="2",
                margin_bottom="1em",
            ),
            rx.cond(PlansState.switch_error != "", error_callout(PlansState.switch_error)),
            rx.cond(
                PlansState.switch_loading,
                rx.hstack(
                    rx.spinner(size="2"),
                    rx.text("Asking Stripe what the switch costs…", color_scheme="gray", size="2"),
                    align="center",
                ),
                rx.cond(PlansState.switch_token != "", _preview()),
            ),
            rx.hstack(
                rx.dialog.close(rx.button("Keep my plan", variant="soft", color_scheme="gray")),
                rx.button(
                    rx.cond(PlansState.switch_confirming, rx.spinner(size="2"), rx.icon("check", size=16)),
                    "Confirm switch",
                    on_click=PlansState.confirm_switch,
                    disabled=(PlansState.switch_token == "") | PlansState.switch_confirming,
                    id="confirm-switch",
                ),
                spacing="3",
                justify="end",
                margin_top="1.5em",
            ),
            id="switch-dialog",
        ),
        open=PlansState.switch_dialog_open,
        on_open_change=PlansState.set_switch_dialog_open,
    )
