"""`/admin/customers/detail?user_id=...`: one customer's subscription, usage this period and last reports."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal import routes
from my_dev_portal.components.admin_shell import admin_page
from my_dev_portal.components.callouts import error_callout, loading_block
from my_dev_portal.state.admin_customers import AdminCustomersState, CustomerUsageView, ReportView
from my_dev_portal.templates import admin_only, template

S = AdminCustomersState


def _fact(label: str, value: rx.Component | rx.Var | str) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value))


def _usage_row(meter: ObjectVar[CustomerUsageView]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(meter.name),
        rx.table.cell(meter.charge_by),
        rx.table.cell(meter.usage, text_align="right"),
        rx.table.cell(meter.reported, text_align="right"),
        rx.table.cell(
            rx.cond(
                meter.in_sync,
                rx.badge("in Stripe", color_scheme="green", variant="soft"),
                rx.badge(meter.unreported, " pending", color_scheme="orange", variant="soft"),
            )
        ),
    )


def _report_row(report: ObjectVar[ReportView]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(report.hour),
        rx.table.cell(report.meter),
        rx.table.cell(report.action),
        rx.table.cell(report.quantity, text_align="right"),
        rx.table.cell(rx.badge(report.status, color_scheme=report.color, variant="soft")),
        rx.table.cell(rx.text(report.error, size="1", color_scheme="red")),
    )


def _detail() -> rx.Component:
    return rx.vstack(
        rx.grid(
            rx.card(
                rx.vstack(
                    rx.heading(S.detail.email, size="4", as_="h2"),
                    rx.data_list.root(
                        _fact("Name", rx.cond(S.detail.name != "", S.detail.name, "—")),
                        _fact("User id", rx.code(S.detail.user_id, variant="ghost")),
                        _fact("Stripe customer", rx.code(S.detail.stripe_customer_id, variant="ghost")),
                        size="2",
                    ),
                    width="100%",
                ),
                width="100%",
            ),
            rx.card(
                rx.vstack(
                    rx.heading("Subscription", size="4", as_="h2"),
                    rx.data_list.root(
                        _fact("Plan", rx.cond(S.detail.plan != "", S.detail.plan, "—")),
                        _fact(
                            "Status",
                            rx.badge(S.detail.status, color_scheme=S.detail.status_color, variant="soft"),
                        ),
                        _fact("Current period", rx.cond(S.detail.period != "", S.detail.period, "—")),
                        size="2",
                    ),
                    width="100%",
                ),
                width="100%",
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        rx.card(
            rx.vstack(
                rx.heading("Usage this period", size="4", as_="h2"),
                rx.cond(
                    S.detail_usage.length() > 0,  # type: ignore[attr-defined]
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Meter"),
                                rx.table.column_header_cell("Charge by"),
                                rx.table.column_header_cell("Usage", text_align="right"),
                                rx.table.column_header_cell("In Stripe", text_align="right"),
                                rx.table.column_header_cell("Reporting"),
                            )
                        ),
                        rx.table.body(rx.foreach(S.detail_usage, _usage_row)),
                        width="100%",
                        size="1",
                    ),
                    rx.text("No usage recorded this period.", color_scheme="gray"),
                ),
                width="100%",
            ),
            width="100%",
        ),
        rx.card(
            rx.vstack(
                rx.heading("Last usage reports to Stripe", size="4", as_="h2"),
                rx.cond(
                    S.detail_reports.length() > 0,  # type: ignore[attr-defined]
                    rx.box(
                        rx.table.root(
                            rx.table.header(
                                rx.table.row(
                                    rx.table.column_header_cell("Hour"),
                                    rx.table.column_header_cell("Meter"),
                                    rx.table.column_header_cell("Action"),
                                    rx.table.column_header_cell("Quantity", text_align="right"),
                                    rx.table.column_header_cell("Status"),
                                    rx.table.column_header_cell("Error"),
                                )
                            ),
                            rx.table.body(rx.foreach(S.detail_reports, _report_row)),
                            width="100%",
                            size="1",
                        ),
                        overflow_x="auto",
                        width="100%",
                    ),
                    rx.text("Nothing reported yet.", color_scheme="gray"),
                ),
                width="100%",
            ),
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


@template
@admin_only
def admin_customer() -> rx.Component:
    return admin_page(
        "Customer",
        "Subscription, usage this period and what was reported to Stripe.",
        routes.ADMIN_CUSTOMERS,
        rx.link(
            rx.hstack(rx.icon("arrow_left", size=14), rx.text("All customers", size="2"), align="center"),
            href=routes.ADMIN_CUSTOMERS,
        ),
        rx.cond(
            S.detail_loaded,
            rx.cond(S.detail_error != "", error_callout(S.detail_error), _detail()),
            loading_block("Loading the customer…"),
        ),
    )
