"""One kind of machine token (admin API or collector): create form, once-only secret, table, revoke;
and for admin API tokens their scopes."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal.api_client import TOKEN_SCOPES
from my_dev_portal.components.form_field import form_field
from my_dev_portal.components.secret_reveal import secret_reveal
from my_dev_portal.state.admin_tokens import SCOPE_HINTS, AdminTokensState, TokenView

S = AdminTokensState
GATEWAY_HINT = "A gateway needs verify + ingest only."


def _ticking(on_change: Any, scope: str) -> Any:
    """`on_change(scope, checked)` for one checkbox (a lambda of its own, so each binds its scope)."""
    return lambda checked: on_change(scope, checked)


def _scope_checkboxes(chosen: rx.Var[list[str]], on_change: Any, id_prefix: str) -> rx.Component:
    """One checkbox per scope, saying what it lets a token call."""
    return rx.vstack(
        *(
            rx.el.label(
                rx.hstack(
                    rx.checkbox(
                        checked=chosen.contains(scope),  # type: ignore[attr-defined]
                        on_change=_ticking(on_change, scope),
                        id=f"{id_prefix}-{scope}",
                    ),
                    rx.text(rx.text.strong(scope), f" · {SCOPE_HINTS[scope]}", size="2"),
                    align="center",
                    spacing="2",
                ),
                html_for=f"{id_prefix}-{scope}",
            )
            for scope in TOKEN_SCOPES
        ),
        spacing="1",
    )


def _scope_badges(token: ObjectVar[TokenView]) -> rx.Component:
    return rx.hstack(
        rx.foreach(token.scopes, lambda scope: rx.badge(scope, variant="soft", color_scheme="iris")),
        spacing="1",
        wrap="wrap",
        class_name="token-scopes",
    )


def _new_token_scopes() -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend(rx.text("Scopes", size="2", weight="medium")),
        _scope_checkboxes(S.new_scopes, S.set_new_scope, "new-admin-token-scope"),  # type: ignore[arg-type]
        rx.text(
            rx.cond(S.new_scopes_error != "", S.new_scopes_error, GATEWAY_HINT),
            size="1",
            color_scheme=rx.cond(S.new_scopes_error != "", "red", "gray"),
            aria_live="polite",
        ),
        style={"border": "none", "padding": "0", "margin": "0"},
    )


def _token_row(token: ObjectVar[TokenView], with_scopes: bool) -> rx.Component:
    scope_cells = [rx.table.cell(_scope_badges(token))] if with_scopes else []
    scopes_button = (
        [
            rx.button(
                rx.icon("shield", size=14),
                "Scopes",
                on_click=S.ask_scopes(token.id, token.name, token.scopes),  # type: ignore[operator]
                size="1",
                variant="soft",
                aria_label=f"Change the scopes of token {token.name}",
            )
        ]
        if with_scopes
        else []
    )
    return rx.table.row(
        rx.table.row_header_cell(token.name),
        rx.table.cell(rx.code(token.prefix, "…", variant="ghost")),
        *scope_cells,
        rx.table.cell(
            rx.cond(
                token.active,
                rx.badge("active", color_scheme="green", variant="soft"),
                rx.badge("revoked", color_scheme="gray", variant="soft"),
            )
        ),
        rx.table.cell(token.created),
        rx.table.cell(token.last_used),
        rx.table.cell(
            rx.cond(
                token.active,
                rx.hstack(
                    *scopes_button,
                    rx.button(
                        rx.icon("ban", size=14),
                        "Revoke",
                        on_click=S.ask_revoke(token.kind, token.id, token.name),  # type: ignore[operator]
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        aria_label=f"Revoke token {token.name}",
                    ),
                    spacing="2",
                ),
                rx.text("—", color_scheme="gray"),
            )
        ),
        align="center",
        custom_attrs={"data-token-prefix": token.prefix},
    )


def tokens_panel(
    kind: str,
    title: str,
    description: str,
    tokens: rx.Var[list[TokenView]],
    name_error: rx.Var[str] | str,
) -> rx.Component:
    field_id = f"new-{kind}-token-name"
    # Admin API tokens have scopes; collector tokens only ever send usage.
    with_scopes = kind == "admin"
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4", as_="h2"),
            rx.text(description, size="2", color_scheme="gray"),
            rx.cond(
                (S.revealed_secret != "") & (S.revealed_kind == kind),
                secret_reveal(S.revealed_name, S.revealed_secret, on_dismiss=S.dismiss_secret),
            ),
            rx.form(
                rx.hstack(
                    rx.box(
                        form_field(
                            "New token name", "name", field_id=field_id, error=name_error, placeholder="ci"
                        ),
                        flex="1",
                        min_width="12em",
                    ),
                    rx.button(
                        rx.icon("plus", size=16),
                        "Create token",
                        type="submit",
                        size="3",
                        disabled=S.busy,
                        margin_top="1.5em",
                    ),
                    align="start",
                    width="100%",
                    wrap="wrap",
                ),
                *([_new_token_scopes()] if with_scopes else []),
                on_submit=lambda form_data: S.create(kind, form_data),  # type: ignore[operator]
                reset_on_submit=False,
                width="100%",
            ),
            rx.cond(
                tokens.length() > 0,  # type: ignore[attr-defined]
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Name"),
                                rx.table.column_header_cell("Token"),
                                *([rx.table.column_header_cell("Scopes")] if with_scopes else []),
                                rx.table.column_header_cell("Status"),
                                rx.table.column_header_cell("Created"),
                                rx.table.column_header_cell("Last used"),
                                rx.table.column_header_cell(rx.el.span("Actions", class_name="rt-sr-only")),
                            )
                        ),
                        rx.table.body(rx.foreach(tokens, lambda token: _token_row(token, with_scopes))),
                        width="100%",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                rx.text("No token yet.", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def revoke_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Revoke this token?"),
            rx.alert_dialog.description(
                "Calls with token “",
                S.revoke_name,
                "” are refused from now on. This cannot be undone.",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Keep token", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Revoke token", color_scheme="red", on_click=S.revoke_confirmed, id="confirm-revoke"
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
        open=S.confirming_revoke,
        on_open_change=S.set_revoke_dialog_open,
    )


def scopes_dialog() -> rx.Component:
    """Change what an admin API token may call."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Scopes of “", S.scopes_name, "”"),
            rx.dialog.description(
                "What this token may call from now on. " + GATEWAY_HINT, size="2", color_scheme="gray"
            ),
            rx.box(
                _scope_checkboxes(S.scopes_chosen, S.set_chosen_scope, "token-scope"),  # type: ignore[arg-type]
                margin_y="1em",
            ),
            rx.cond(
                S.scopes_error != "",
                rx.text(S.scopes_error, size="1", color_scheme="red", role="alert"),
            ),
            rx.hstack(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.button(
                    rx.cond(S.scopes_saving, rx.spinner(size="1")),
                    "Save scopes",
                    on_click=S.save_scopes,
                    disabled=S.scopes_saving,
                    id="save-token-scopes",
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
        open=S.editing_scopes,
        on_open_change=S.set_scopes_dialog_open,
    )
