"""The Meter Test panel: the synthetic call it will send (editable), then pass/fail, each check, and our usage
and amount against Stripe's preview."""

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


def _event_input(label: str, name: str, value: rx.Var[str] | str, **props) -> rx.Component:
    field_id = "meter-test-event-" + name.removeprefix("event_").replace("_", "-")
    return rx.vstack(
        rx.el.label(rx.text(label, size="1", weight="medium"), html_for=field_id),
        rx.input(
            id=field_id,
            value=value,
            on_change=lambda text: S.set_event_field(name, text),  # type: ignore[operator]
            size="2",
            width="100%",
            **props,
        ),
        spacing="1",
        width="100%",
    )


def _event_json(label: str, name: str, value: rx.Var[str] | str) -> rx.Component:
    field_id = "meter-test-event-" + name.removeprefix("event_").replace("_", "-")
    return rx.vstack(
        rx.el.label(rx.text(label, size="1", weight="medium"), html_for=field_id),
        rx.text_area(
            id=field_id,
            value=value,
            on_change=lambda text: S.set_event_field(name, text),  # type: ignore[operator]
            placeholder="{}",
            rows="2",
            width="100%",
            font_family="var(--code-font-family)",
        ),
        spacing="1",
        width="100%",
    )


def _event_form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("The call the Meter Test sends: ", S.event_meter_name, size="4", as_="h2"),
                rx.spacer(),
                rx.icon_button(
                    rx.icon("x", size=16),
                    on_click=S.dismiss_test,
                    variant="ghost",
                    color_scheme="gray",
                    aria_label="Close the Meter Test",
                ),
                align="center",
                width="100%",
            ),
            rx.text(
                "The test sends this call as its own test customer, never as a real customer, and "
                "reports it to that customer's subscription in Stripe test mode (made on the first run, "
                "then reused). It was derived from the meter's filters; edit it to test another call. "
                "With a live key nothing is sent.",
                size="2",
                color_scheme="gray",
            ),
            rx.cond(
                S.event_reason != "",
                rx.callout(
                    S.event_reason,
                    icon="triangle_alert",
                    color_scheme="orange",
                    size="1",
                    width="100%",
                    id="meter-test-event-reason",
                ),
            ),
            rx.cond(
                S.event_loading,
                rx.hstack(rx.spinner(size="2"), rx.text("Deriving the call…", size="2"), align="center"),
                rx.vstack(
                    rx.grid(
                        _event_input("Method", "event_method", S.event_method),
                        _event_input("Route", "event_route", S.event_route),
                        _event_input("Status", "event_status", S.event_status, placeholder="none"),
                        _event_input("Weight", "event_weight", S.event_weight),
                        _event_input("Company", "event_company", S.event_company, placeholder="none"),
                        columns=rx.breakpoints(initial="1", md="5"),
                        spacing="3",
                        width="100%",
                    ),
                    rx.grid(
                        _event_json(
                            "Request headers (JSON)", "event_request_headers", S.event_request_headers
                        ),
                        _event_json(
                            "Response headers (JSON)", "event_response_headers", S.event_response_headers
                        ),
                        _event_json("Metadata (JSON)", "event_metadata", S.event_metadata),
                        columns=rx.breakpoints(initial="1", md="3"),
                        spacing="3",
                        width="100%",
                    ),
                    rx.cond(
                        S.event_error != "",
                        rx.text(S.event_error, size="1", color_scheme="red", id="meter-test-event-error"),
                    ),
                    rx.hstack(
                        rx.button(
                            rx.cond(S.testing_id != "", rx.spinner(size="1"), rx.icon("play", size=14)),
                            "Run Meter Test",
                            on_click=S.run_test,
                            disabled=S.testing_id != "",
                            color_scheme="green",
                            id="run-meter-test",
                        ),
                        rx.button(
                            "Reset to the derived call",
                            on_click=S.reset_event,
                            variant="soft",
                            color_scheme="gray",
                            disabled=S.testing_id != "",
                        ),
                        spacing="2",
                    ),
                    spacing="3",
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="meter-test-event",
    )


def meter_test_panel() -> rx.Component:
    return rx.fragment(
        rx.cond(S.test_error != "", error_callout(S.test_error, id="meter-test-error")),
        rx.cond(S.event_open, _event_form()),
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
                        rx.cond(
                            S.test_live,
                            rx.text(
                                "Live mode: nothing was sent. Compared subscription ",
                                rx.code(S.test_subscription, variant="ghost"),
                                " of customer ",
                                rx.code(S.test_customer, variant="ghost"),
                                " with what the hourly report sent.",
                                size="2",
                                color_scheme="gray",
                            ),
                            rx.text(
                                "Tested with the Meter Test's own subscription ",
                                rx.code(S.test_subscription, variant="ghost"),
                                " of its test customer ",
                                rx.code(S.test_customer, variant="ghost"),
                                " (Stripe test mode; it bills no one).",
                                size="2",
                                color_scheme="gray",
                                id="meter-test-subscription",
                            ),
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
