"""`/admin/report-runs`: runs of the usage reporter, newest first, with status, counts, lag and errors."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal import routes
from my_dev_portal.components.admin_shell import admin_page
from my_dev_portal.components.callouts import error_callout, loading_block
from my_dev_portal.state.admin_report_runs import AdminReportRunsState, RunView
from my_dev_portal.templates import admin_only, template

S = AdminReportRunsState


def _errors(run: ObjectVar[RunView]) -> rx.Component:
    return rx.cond(
        run.errors.length() > 0,  # type: ignore[attr-defined]
        rx.el.details(
            rx.el.summary(rx.text(run.errors.length(), " errors", size="1", color_scheme="red")),  # type: ignore[attr-defined]
            rx.vstack(
                rx.foreach(
                    run.errors, lambda error: rx.text(error, size="1", font_family="var(--code-font-family)")
                ),
                spacing="1",
                padding_top="0.25em",
            ),
        ),
        rx.text("—", color_scheme="gray"),
    )


def _run_row(run: ObjectVar[RunView]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(run.started),
        rx.table.cell(run.kind),
        rx.table.cell(rx.badge(run.status, color_scheme=run.color, variant="soft")),
        rx.table.cell(run.duration),
        rx.table.cell(run.counts),
        rx.table.cell(run.lag),
        rx.table.cell(_errors(run)),
        align="center",
    )


@template
@admin_only
def admin_report_runs() -> rx.Component:
    return admin_page(
        "Report runs",
        "Every run of the usage reporter. Lag is how far the oldest unconfirmed hour is behind now. "
        "Report now sends every closed hour not in Stripe yet, as the hourly job does.",
        routes.ADMIN_REPORT_RUNS,
        rx.hstack(
            rx.cond(S.lag != "", rx.text("Reporting lag: ", rx.text.strong(S.lag), size="2")),
            rx.spacer(),
            rx.button(
                rx.cond(S.reporting, rx.spinner(size="1"), rx.icon("send", size=14)),
                "Report now",
                on_click=S.report_now,
                disabled=S.reporting,
                size="2",
                id="report-now",
                title="Send every closed hour not in Stripe yet, as the hourly job does",
            ),
            rx.button(rx.icon("refresh_cw", size=14), "Refresh", on_click=S.load, variant="soft", size="2"),
            width="100%",
        ),
        rx.cond(
            S.report_outcome != "",
            rx.callout(
                S.report_outcome,
                icon="info",
                color_scheme=S.report_color,
                size="1",
                width="100%",
                role="status",
                id="report-now-outcome",
            ),
        ),
        rx.cond(S.error != "", error_callout(S.error)),
        rx.cond(
            S.loaded,
            rx.cond(
                S.runs.length() > 0,  # type: ignore[attr-defined]
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Started"),
                                rx.table.column_header_cell("Kind"),
                                rx.table.column_header_cell("Status"),
                                rx.table.column_header_cell("Took"),
                                rx.table.column_header_cell("Reports"),
                                rx.table.column_header_cell("Lag"),
                                rx.table.column_header_cell("Errors"),
                            )
                        ),
                        rx.table.body(rx.foreach(S.runs, _run_row)),
                        width="100%",
                        variant="surface",
                        id="report-runs-table",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                rx.text("The reporter has not run yet.", color_scheme="gray"),
            ),
            loading_block("Loading report runs…"),
        ),
    )
