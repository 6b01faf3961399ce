"""One kind of machine token (admin API or collector): create form, once-only secret, table, revoke."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal.components.form_field import form_field
from my_dev_portal.components.secret_reveal import secret_reveal
from my_dev_portal.state.admin_tokens import AdminTokensState, TokenView

S = AdminTokensState


def _token_row(token: ObjectVar[TokenView]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(token.name),
        rx.table.cell(rx.code(token.prefix, "…", variant="ghost")),
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
                rx.button(
                    rx.icon("ban", size=14),
                    "Revoke",
                    on_click=S.ask_revoke(token.kind, token.id, token.name),  # type: ignore[operator]
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    aria_label=f"Revoke token {token.name}",
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
                                rx.table.column_header_cell("Status"),
                                rx.table.column_header_cell("Created"),
                                rx.table.column_header_cell("Last used"),
                                rx.table.column_header_cell(rx.el.span("Actions", class_name="rt-sr-only")),
                            )
                        ),
                        rx.table.body(rx.foreach(tokens, _token_row)),
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
