"""`/signup`: create an account; inline validation, the API's own messages, labelled fields."""

from __future__ import annotations

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.components.auth_card import auth_card, submit_button
from my_dev_portal.components.form_field import form_field
from my_dev_portal.state.auth import MIN_PASSWORD_LENGTH, AuthState
from my_dev_portal.templates import template


@template
def signup() -> rx.Component:
    form = rx.form(
        rx.vstack(
            form_field("Name (optional)", "name", autocomplete="name"),
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
                autocomplete="new-password",
                error=AuthState.password_error,
                hint=f"At least {MIN_PASSWORD_LENGTH} characters.",
            ),
            submit_button("Create account"),
            spacing="2",
            width="100%",
        ),
        on_submit=AuthState.signup,
        reset_on_submit=False,
        width="100%",
        custom_attrs={"noValidate": True, "aria-label": "Sign up"},
    )
    footer = rx.text("Already have an account? ", rx.link("Log in", href=routes.LOGIN), size="2")
    return auth_card("Create your account", form, footer)
