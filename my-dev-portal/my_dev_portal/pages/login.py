"""`/login`: sign in, then go on to `?next=` (same-site paths only)."""

from __future__ import annotations

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.components.auth_card import auth_card, submit_button
from my_dev_portal.components.form_field import form_field
from my_dev_portal.state.auth import AuthState
from my_dev_portal.templates import template


@template
def login() -> rx.Component:
    form = rx.form(
        rx.vstack(
            form_field(
                "Email",
                "email",
                type_="email",
                autocomplete="email",
                error=AuthState.email_error,
                on_blur=AuthState.check_email,
            ),
            form_field(
                "Password",
                "password",
                type_="password",
                autocomplete="current-password",
                error=AuthState.password_error,
            ),
            submit_button("Log in"),
            spacing="2",
            width="100%",
        ),
        on_submit=AuthState.login,
        reset_on_submit=False,
        width="100%",
        custom_attrs={"noValidate": True, "aria-label": "Log in"},
    )
    footer = rx.text("New here? ", rx.link("Create an account", href=routes.SIGNUP), size="2")
    return auth_card("Log in", form, footer)
