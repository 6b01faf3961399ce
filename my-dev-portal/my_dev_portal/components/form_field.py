"""A labelled input with room reserved for its inline error, so messages never shift the form."""

from __future__ import annotations

import reflex as rx


def form_field(
    label: str,
    name: str,
    *,
    error: rx.Var[str] | str = "",
    type_: str = "text",
    autocomplete: str = "off",
    placeholder: str = "",
    hint: str = "",
    field_id: str = "",
    **input_props,
) -> rx.Component:
    """`<label for>` + input + a live error line that screen readers announce."""
    input_id = field_id or name
    error_id = f"{input_id}-error"
    error_var = rx.Var.create(error)
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=input_id),
        rx.input(
            id=input_id,
            name=name,
            type=type_,
            placeholder=placeholder,
            auto_complete=autocomplete,
            size="3",
            width="100%",
            custom_attrs={
                "aria-invalid": rx.cond(error_var != "", "true", "false"),
                "aria-describedby": error_id,
            },
            **input_props,
        ),
        rx.text(
            rx.cond(error_var != "", error_var, hint),
            id=error_id,
            size="1",
            color_scheme=rx.cond(error_var != "", "red", "gray"),
            aria_live="polite",
            min_height="1.4em",
        ),
        spacing="1",
        width="100%",
    )
