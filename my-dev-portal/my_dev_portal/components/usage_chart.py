"""Usage per day of each meter billing the customer's plan in the current period, as a bar chart."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal import routes
from my_dev_portal.state.dashboard import DashboardState, MeterView


def _meter_chart(meter: ObjectVar[MeterView]) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(meter.name, weight="medium"),
            rx.spacer(),
            rx.text(
                meter.period_total, " ", meter.unit, " ", meter.period_phrase, size="2", color_scheme="gray"
            ),
            rx.cond(meter.estimate != "", rx.badge("≈ ", meter.estimate, variant="soft")),
            width="100%",
            align="center",
            wrap="wrap",
        ),
        rx.recharts.bar_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
            rx.recharts.x_axis(data_key="day"),
            rx.recharts.y_axis(allow_decimals=False, width=48),
            rx.recharts.graphing_tooltip(),
            rx.recharts.bar(
                data_key="value",
                name=meter.unit,
                fill=rx.color("accent", 9),
                radius=[3, 3, 0, 0],
                max_bar_size=48,
            ),
            data=meter.points,
            height=220,
            width="100%",
        ),
        width="100%",
        spacing="2",
    )


def usage_chart() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Usage", size="4", as_="h2"),
            rx.cond(
                DashboardState.usage_available & (DashboardState.meters.length() > 0),  # type: ignore[attr-defined]
                rx.foreach(DashboardState.meters, _meter_chart),
                rx.center(
                    rx.vstack(
                        rx.icon("chart_column", size=28, color=rx.color("gray", 8)),
                        rx.cond(
                            DashboardState.has_subscription,
                            rx.text(
                                rx.cond(
                                    DashboardState.usage_available,
                                    "Your plan bills no metered usage.",
                                    "Usage appears here once metering reports it.",
                                ),
                                color_scheme="gray",
                            ),
                            rx.text(
                                "Usage is measured for the plan you subscribe to. ",
                                rx.link("Choose a plan on Pricing", href=routes.PRICING),
                                " to see yours here.",
                                color_scheme="gray",
                                id="usage-no-plan",
                            ),
                        ),
                        align="center",
                    ),
                    height="220px",
                    width="100%",
                ),
            ),
            width="100%",
        ),
        width="100%",
        id="usage-card",
    )
