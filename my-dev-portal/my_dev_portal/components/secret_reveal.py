"""A newly created API key's secret, shown once with a copy button and a warning."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventType


def secret_reveal(
    name: rx.Var[str] | str,
    secret: rx.Var[str] | str,
    on_dismiss: EventType[()] | None = None,
) -> rx.Component:
    return rx.callout.root(
        rx.vstack(
            rx.hstack(
                rx.icon("key_round", size=18),
                rx.text("New key ", rx.text.strong(name), size="3"),
                align="center",
            ),
            rx.text(
                "Copy this secret now. It is shown only once: the portal does not keep it, "
                "and nobody can show it to you again.",
                size="2",
                weight="medium",
            ),
            rx.hstack(
                rx.code(secret, id="revealed-secret", size="3", variant="outline", word_break="break_all"),
                rx.button(
                    rx.icon("copy", size=16),
                    "Copy",
                    on_click=[rx.set_clipboard(secret), rx.toast.success("Key copied to the clipboard")],
                    variant="soft",
                    aria_label="Copy the secret key",
                ),
                align="center",
                wrap="wrap",
                width="100%",
            ),
            rx.button("I have stored it safely", on_click=on_dismiss, variant="outline", size="1")
            if on_dismiss is not None
            else rx.fragment(),
            spacing="2",
            width="100%",
        ),
        color_scheme="amber",
        variant="surface",
        width="100%",
        role="status",
    )
