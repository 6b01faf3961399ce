"""`/admin/meters`: meters (what usage counts, which Stripe price bills it), their form and Meter Test."""

from __future__ import annotations

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.components.admin_meter_coverage import meter_coverage
from my_dev_portal.components.admin_meter_form import meter_form
from my_dev_portal.components.admin_meter_test import meter_test_panel
from my_dev_portal.components.admin_meters_table import meters_table
from my_dev_portal.components.admin_shell import admin_page
from my_dev_portal.components.callouts import error_callout, loading_block
from my_dev_portal.state.admin_meter_form import MeterFormState
from my_dev_portal.state.admin_meters import AdminMetersState
from my_dev_portal.templates import admin_only, template

S = AdminMetersState


@template
@admin_only
def admin_meters() -> rx.Component:
    return admin_page(
        "Meters",
        "A meter picks the API calls that count, measures them, and reports the result to a Stripe price.",
        routes.ADMIN_METERS,
        rx.hstack(
            rx.spacer(),
            rx.button(
                rx.icon("plus", size=16),
                "New meter",
                on_click=MeterFormState.new_meter,
                disabled=MeterFormState.form_open,
                id="new-meter",
            ),
            width="100%",
        ),
        rx.cond(S.error != "", error_callout(S.error)),
        rx.cond(S.loaded, meter_coverage()),
        rx.cond(MeterFormState.form_open, meter_form()),
        meter_test_panel(),
        rx.cond(S.loaded, meters_table(), loading_block("Loading meters…")),
    )
