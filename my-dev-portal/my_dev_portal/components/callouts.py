"""Status callouts shared by pages: errors the API reported, warnings, loading placeholders."""

from __future__ import annotations

import reflex as rx


def error_callout(message: rx.Var[str] | str, **props) -> rx.Component:
    """The API's message verbatim: users and support see the same words."""
    return rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert", width="100%", **props)


def info_callout(message: rx.Var[str] | str, icon: str = "info", **props) -> rx.Component:
    return rx.callout(message, icon=icon, width="100%", **props)


def loading_block(label: str = "Loading…", height: str = "12em") -> rx.Component:
    """A placeholder of fixed height, so content arriving later does not push the page around."""
    return rx.center(
        rx.hstack(rx.spinner(size="3"), rx.text(label, color_scheme="gray"), align="center"),
        height=height,
        width="100%",
        aria_busy="true",
    )
