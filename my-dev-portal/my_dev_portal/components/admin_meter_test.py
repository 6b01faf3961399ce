"""The Meter Test result panel: pass/fail, each check, and our usage and amount against Stripe's preview."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal.components.callouts import error_callout
from my_dev_portal.state.admin_meter_test import CheckView, MeterTestState

S = MeterTestState


def _check(check: ObjectVar[CheckView]) -> rx.Component:
    return rx.hstack(
        rx.cond(
            check.ok,
            rx.icon(
                "circle_check", color=rx.color("green", 9), size=18, aria_label="passed", flex_shrink="0"
            ),
            rx.icon("circle_x", color=rx.color("red", 9), size=18, aria_label="failed", flex_shrink="0"),
        ),
        rx.vstack(
            rx.text(check.name, size="2", weight="medium"),
            rx.cond(check.detail != "", rx.text(check.detail, size="1", color_scheme="gray")),
            spacing="0",
        ),
        align="start",
        spacing="2",
        class_name="meter-test-check",
    )


def _figure(label: str, ours: rx.Var[str] | str, theirs: rx.Var[str] | str) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(label),
        rx.table.cell(ours, text_align="right"),
        rx.table.cell(theirs, text_align="right"),
    )


def meter_test_panel() -> rx.Component:
    return rx.fragment(
        rx.cond(S.test_error != "", error_callout(S.test_error, id="meter-test-error")),
        rx.cond(
            S.test_ran,
            rx.card(
                rx.vstack(
                    rx.hstack(
                        rx.heading("Meter Test: ", S.test_meter_name, size="4", as_="h2"),
                        rx.cond(
                            S.test_passed,
                            rx.badge(
                                rx.icon("check", size=14),
                                "pass",
                                color_scheme="green",
                                size="3",
                                id="meter-test-status",
                            ),
                            rx.badge(
                                rx.icon("x", size=14),
                                "fail",
                                color_scheme="red",
                                size="3",
                                id="meter-test-status",
                            ),
                        ),
                        rx.spacer(),
                        rx.icon_button(
                            rx.icon("x", size=16),
                            on_click=S.dismiss_test,
                            variant="ghost",
                            color_scheme="gray",
                            aria_label="Close the Meter Test result",
                        ),
                        align="center",
                        width="100%",
                    ),
                    rx.cond(
                        ~S.test_passed & (S.test_reason != ""),
                        rx.callout(
                            S.test_reason, icon="triangle_alert", color_scheme="red", size="1", width="100%"
                        ),
                    ),
                    rx.cond(
                        S.test_subscription != "",
                        rx.text(
                            "Tested with subscription ",
                            rx.code(S.test_subscription, variant="ghost"),
                            " of customer ",
                            rx.code(S.test_customer, variant="ghost"),
                            size="2",
                            color_scheme="gray",
                        ),
                    ),
                    rx.grid(
                        rx.cond(
                            S.test_checks.length() > 0,  # type: ignore[attr-defined]
                            rx.vstack(rx.foreach(S.test_checks, _check), spacing="2", width="100%"),
                            rx.text("The API sent no check details.", size="2", color_scheme="gray"),
                        ),
                        rx.table.root(
                            rx.table.header(
                                rx.table.row(
                                    rx.table.column_header_cell(""),
                                    rx.table.column_header_cell("Portal", text_align="right"),
                                    rx.table.column_header_cell("Stripe preview", text_align="right"),
                                )
                            ),
                            rx.table.body(
                                _figure("Usage this period", S.test_usage, "—"),
                                _figure("Quantity billed", S.test_reported, S.test_stripe_usage),
                                _figure("Amount", S.test_amount, S.test_stripe_amount),
                                rx.table.row(
                                    rx.table.row_header_cell("Difference"),
                                    rx.table.cell(
                                        S.test_difference,
                                        col_span=2,
                                        text_align="right",
                                        id="meter-test-difference",
                                    ),
                                ),
                            ),
                            size="1",
                            width="100%",
                        ),
                        columns=rx.breakpoints(initial="1", md="2"),
                        spacing="4",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                width="100%",
                id="meter-test-result",
                role="status",
                style={
                    "border_left": rx.cond(
                        S.test_passed, f"4px solid {rx.color('green', 9)}", f"4px solid {rx.color('red', 9)}"
                    )
                },
            ),
        ),
    )
