"""`/admin/customers`: every customer with their plan and subscription status, searchable."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal import routes
from my_dev_portal.components.admin_shell import admin_page
from my_dev_portal.components.callouts import error_callout, loading_block
from my_dev_portal.state.admin_customers import AdminCustomersState, CustomerView
from my_dev_portal.templates import admin_only, template

S = AdminCustomersState


def _customer_row(customer: ObjectVar[CustomerView]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(
                rx.vstack(
                    rx.text(customer.email, weight="medium"),
                    rx.cond(customer.name != "", rx.text(customer.name, size="1", color_scheme="gray")),
                    spacing="0",
                ),
                href=f"{routes.ADMIN_CUSTOMER}?user_id={customer.user_id}",
                underline="hover",
            )
        ),
        rx.table.cell(rx.cond(customer.plan != "", customer.plan, "—")),
        rx.table.cell(rx.badge(customer.status, color_scheme=customer.status_color, variant="soft")),
        rx.table.cell(rx.text(customer.period, size="2")),
        rx.table.cell(
            rx.hstack(
                rx.text(rx.cond(customer.usage != "", customer.usage, "—"), size="2"),
                rx.cond(
                    customer.behind,
                    rx.tooltip(
                        rx.badge("reporting", color_scheme="orange", variant="soft"),
                        content="Some of this usage is not confirmed in Stripe yet",
                    ),
                ),
                align="center",
                spacing="2",
            )
        ),
        rx.table.cell(rx.code(customer.stripe_customer_id, size="1", variant="ghost")),
        align="center",
        custom_attrs={"data-user-id": customer.user_id},
    )


@template
@admin_only
def admin_customers() -> rx.Component:
    return admin_page(
        "Customers",
        "Subscribers with their plan and usage this period. Open one to see what was reported to Stripe.",
        routes.ADMIN_CUSTOMERS,
        rx.cond(S.error != "", error_callout(S.error)),
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            value=S.search,
            on_change=S.set_search,
            placeholder="Search by email, name or id",
            aria_label="Search customers",
            size="3",
            width="100%",
            max_width="28em",
        ),
        rx.cond(
            S.loaded,
            rx.cond(
                S.shown_customers.length() > 0,  # type: ignore[attr-defined]
                rx.vstack(
                    rx.text(
                        "Showing ",
                        S.customers.length(),  # type: ignore[attr-defined]
                        " of ",
                        S.total,
                        " subscribers",
                        size="1",
                        color_scheme="gray",
                    ),
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Customer"),
                                rx.table.column_header_cell("Plan"),
                                rx.table.column_header_cell("Subscription"),
                                rx.table.column_header_cell("Current period"),
                                rx.table.column_header_cell("Usage this period"),
                                rx.table.column_header_cell("Stripe customer"),
                            )
                        ),
                        rx.table.body(rx.foreach(S.shown_customers, _customer_row)),
                        width="100%",
                        variant="surface",
                        id="customers-table",
                    ),
                    overflow_x="auto",
                    width="100%",
                    spacing="2",
                ),
                rx.text(
                    rx.cond(S.search != "", "No customer matches.", "No subscriber yet."), color_scheme="gray"
                ),
            ),
            loading_block("Loading customers…"),
        ),
    )
