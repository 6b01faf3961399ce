"""One API key in the keys table, with its rotate and revoke actions."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal.state.keys import KeysState, KeyView


def key_row(key: ObjectVar[KeyView]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(key.name),
        rx.table.cell(rx.code(key.prefix, "…", variant="ghost")),
        rx.table.cell(
            rx.badge(key.status, color_scheme=rx.cond(key.active, "green", "gray"), variant="soft")
        ),
        rx.table.cell(key.created),
        rx.table.cell(key.last_used),
        rx.table.cell(
            rx.cond(
                key.active,
                rx.hstack(
                    rx.button(
                        rx.icon("refresh_cw", size=14),
                        "Rotate",
                        on_click=KeysState.rotate_key(key.id),  # type: ignore[operator]
                        disabled=KeysState.busy,
                        size="1",
                        variant="soft",
                        aria_label=f"Rotate key {key.name}",
                    ),
                    rx.button(
                        rx.icon("ban", size=14),
                        "Revoke",
                        on_click=KeysState.ask_revoke(key.id, key.name),  # type: ignore[operator]
                        disabled=KeysState.busy,
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        aria_label=f"Revoke key {key.name}",
                        custom_attrs={"data-key-id": key.id},
                    ),
                    spacing="2",
                ),
                rx.text("—", color_scheme="gray"),
            ),
        ),
        custom_attrs={"data-key-prefix": key.prefix},
        align="center",
    )
