"""The card and submit button shared by the sign-up and log-in forms."""

from __future__ import annotations

import reflex as rx

from my_dev_portal.components.callouts import error_callout
from my_dev_portal.state.auth import AuthState


def auth_card(title: str, form: rx.Component, footer: rx.Component) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.heading(title, size="6", as_="h1"),
                rx.box(
                    rx.cond(AuthState.form_error != "", error_callout(AuthState.form_error, id="form-error")),
                    width="100%",
                ),
                form,
                footer,
                spacing="4",
                width="100%",
            ),
            size="4",
            width="100%",
            max_width="26em",
        ),
        width="100%",
        padding_y="2em",
    )


def submit_button(label: str) -> rx.Component:
    return rx.button(
        rx.cond(AuthState.submitting, rx.spinner(size="2"), rx.fragment()),
        label,
        type="submit",
        size="3",
        width="100%",
        disabled=AuthState.submitting,
    )
