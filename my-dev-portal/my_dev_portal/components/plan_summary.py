"""The dashboard's subscription card (plan, period, change or cancel it) and upcoming-invoice card."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal import routes
from my_dev_portal.state.dashboard import DashboardState, InvoiceLineView


def _cancel_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Cancel at the end of this period?"),
            rx.alert_dialog.description(
                "Your plan stays active until ",
                rx.text.strong(DashboardState.period_end),
                " and is not renewed after that. You can resume it until then.",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Keep my plan", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Cancel at period end",
                        color_scheme="red",
                        on_click=DashboardState.confirm_cancel,
                        id="confirm-cancel",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
        open=DashboardState.confirming_cancel,
        on_open_change=DashboardState.set_cancel_dialog_open,
    )


def _plan_actions() -> rx.Component:
    busy = DashboardState.changing_cancellation
    return rx.hstack(
        rx.button(
            rx.cond(DashboardState.opening_billing_portal, rx.spinner(size="2"), rx.icon("credit_card")),
            "Manage billing",
            on_click=DashboardState.open_billing_portal,
            disabled=DashboardState.opening_billing_portal,
            variant="soft",
        ),
        rx.cond(
            ~DashboardState.cancel_at_period_end,
            rx.link(
                rx.button(rx.icon("arrow_left_right", size=16), "Change plan", variant="soft"),
                href=routes.PRICING,
            ),
        ),
        rx.cond(
            DashboardState.cancel_at_period_end,
            rx.button(
                rx.cond(busy, rx.spinner(size="2"), rx.icon("rotate_ccw", size=16)),
                "Resume",
                on_click=DashboardState.resume,
                disabled=busy,
                color_scheme="green",
                id="resume-subscription",
            ),
            rx.cond(
                DashboardState.can_cancel,
                rx.button(
                    rx.cond(busy, rx.spinner(size="2"), rx.icon("circle_x", size=16)),
                    "Cancel at period end",
                    on_click=DashboardState.ask_cancel,
                    disabled=busy,
                    variant="soft",
                    color_scheme="red",
                    id="cancel-at-period-end",
                ),
            ),
        ),
        spacing="2",
        wrap="wrap",
    )


def subscription_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Plan", size="4", as_="h2"),
            rx.cond(
                DashboardState.has_subscription,
                rx.vstack(
                    rx.hstack(
                        rx.text(DashboardState.plan_name, size="5", weight="bold", id="plan-name"),
                        rx.badge(DashboardState.status, color_scheme=DashboardState.status_color, size="2"),
                        align="center",
                        wrap="wrap",
                    ),
                    rx.cond(
                        DashboardState.current_period != "",
                        rx.text(
                            "Current period: ", DashboardState.current_period, color_scheme="gray", size="2"
                        ),
                    ),
                    rx.cond(
                        DashboardState.ends_on != "",
                        rx.text(
                            "Ends on ",
                            DashboardState.ends_on,
                            " (not renewed)",
                            color_scheme="orange",
                            size="2",
                            weight="medium",
                            id="plan-ends-on",
                        ),
                    ),
                    _plan_actions(),
                    _cancel_dialog(),
                    spacing="2",
                ),
                rx.vstack(
                    rx.text("You have no subscription yet.", color_scheme="gray"),
                    rx.link(rx.button("Choose a plan"), href=routes.PRICING),
                ),
            ),
            width="100%",
            min_height="10em",
        ),
        width="100%",
    )


def _invoice_line(line: ObjectVar[InvoiceLineView]) -> rx.Component:
    return rx.table.row(rx.table.cell(line.description), rx.table.cell(line.amount, text_align="right"))


def invoice_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Upcoming invoice", size="4", as_="h2"),
            rx.cond(
                DashboardState.invoice_available,
                rx.vstack(
                    rx.cond(
                        DashboardState.invoice_total != "",
                        rx.text(DashboardState.invoice_total, size="6", weight="bold", id="invoice-total"),
                    ),
                    rx.cond(
                        DashboardState.invoice_period != "",
                        rx.text("For ", DashboardState.invoice_period, size="2", color_scheme="gray"),
                    ),
                    rx.cond(
                        DashboardState.estimate_total != "",
                        rx.text(
                            "Estimated from all usage so far: ",
                            rx.text.strong(DashboardState.estimate_total),
                            size="2",
                            id="invoice-estimate",
                        ),
                    ),
                    rx.table.root(
                        rx.table.body(rx.foreach(DashboardState.invoice_lines, _invoice_line)),
                        size="1",
                        width="100%",
                    ),
                    spacing="2",
                    width="100%",
                ),
                rx.text("No upcoming invoice to show yet.", color_scheme="gray"),
            ),
            width="100%",
            min_height="10em",
        ),
        width="100%",
    )
