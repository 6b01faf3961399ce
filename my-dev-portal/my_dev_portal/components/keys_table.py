"""The dashboard's API keys panel: create form, table, the once-only secret and the revoke dialog."""

from __future__ import annotations

import reflex as rx

from my_dev_portal.components.callouts import error_callout, loading_block
from my_dev_portal.components.form_field import form_field
from my_dev_portal.components.key_row import key_row
from my_dev_portal.components.secret_reveal import secret_reveal
from my_dev_portal.state.keys import KeysState


def _create_key_form() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.box(
                form_field(
                    "New key name",
                    "name",
                    field_id="new-key-name",
                    error=KeysState.name_error,
                    placeholder="production",
                ),
                flex="1",
                min_width="12em",
            ),
            rx.button(
                rx.icon("plus", size=16),
                "Create key",
                type="submit",
                size="3",
                disabled=KeysState.busy,
                margin_top="1.5em",
            ),
            align="start",
            width="100%",
            wrap="wrap",
        ),
        on_submit=KeysState.create_key,
        reset_on_submit=False,
        width="100%",
    )


def _revoke_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Revoke this key?"),
            rx.alert_dialog.description(
                "Requests with key “",
                KeysState.revoke_key_name,
                "” will be refused from now on. This cannot be undone.",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Keep key", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Revoke key",
                        color_scheme="red",
                        on_click=KeysState.revoke_confirmed,
                        id="confirm-revoke",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
        open=KeysState.confirming_revoke,
        on_open_change=KeysState.set_revoke_dialog_open,
    )


def keys_table() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("API keys", size="4", as_="h2"),
            rx.cond(
                KeysState.revealed_secret != "",
                secret_reveal(
                    KeysState.revealed_name, KeysState.revealed_secret, on_dismiss=KeysState.dismiss_secret
                ),
            ),
            rx.cond(KeysState.error != "", error_callout(KeysState.error)),
            _create_key_form(),
            rx.cond(
                KeysState.loaded,
                rx.cond(
                    KeysState.keys.length() > 0,  # type: ignore[attr-defined]
                    rx.box(
                        rx.table.root(
                            rx.table.header(
                                rx.table.row(
                                    rx.table.column_header_cell("Name"),
                                    rx.table.column_header_cell("Key"),
                                    rx.table.column_header_cell("Status"),
                                    rx.table.column_header_cell("Created"),
                                    rx.table.column_header_cell("Last used"),
                                    rx.table.column_header_cell(
                                        rx.el.span("Actions", class_name="rt-sr-only")
                                    ),
                                )
                            ),
                            rx.table.body(rx.foreach(KeysState.keys, key_row)),
                            width="100%",
                            id="keys-table",
                        ),
                        overflow_x="auto",
                        width="100%",
                    ),
                    rx.text("No keys yet. Create one to call the API.", color_scheme="gray"),
                ),
                loading_block("Loading keys…", height="6em"),
            ),
            _revoke_dialog(),
            width="100%",
            spacing="3",
        ),
        width="100%",
    )
