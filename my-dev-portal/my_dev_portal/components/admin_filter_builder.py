"""The meter filter builder: field / op / value rows under an AND/OR selector, sub-groups, or raw JSON."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal.state.admin_filters import ALL_OPS, FIELD_LABELS, OP_LABELS, FilterGroup, FilterRow
from my_dev_portal.state.admin_meter_form import MeterFormState

# The filter editor is mixed into the meter form's State.
S = MeterFormState


def _mode_control(value: rx.Var[str] | str, on_change: Any, label: str) -> rx.Component:
    return rx.segmented_control.root(
        rx.segmented_control.item("ALL (and)", value="and"),
        rx.segmented_control.item("ANY (or)", value="or"),
        value=value,
        on_change=on_change,
        size="1",
        aria_label=label,
    )


def _row(group: rx.Var[int] | int, row: ObjectVar[FilterRow], index: rx.Var[int]) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.select.root(
                rx.select.trigger(aria_label="Field", width="11em"),
                rx.select.content(
                    *(rx.select.item(label, value=value) for value, label in FIELD_LABELS.items())
                ),
                value=row.field,
                on_change=lambda value: S.set_row(group, index, "field", value),  # type: ignore[operator]
                size="2",
            ),
            rx.cond(
                row.keyed,
                rx.input(
                    value=row.key,
                    on_change=lambda value: S.set_row(group, index, "key", value),  # type: ignore[operator]
                    placeholder=row.key_placeholder,
                    aria_label="Header name or metadata path",
                    size="2",
                    width="9em",
                ),
            ),
            rx.select.root(
                rx.select.trigger(aria_label="Condition", width="10em"),
                rx.select.content(
                    *(
                        rx.select.item(
                            OP_LABELS[op],
                            value=op,
                            disabled=~row.ops.contains(op),  # type: ignore[attr-defined]
                        )
                        for op in ALL_OPS
                    )
                ),
                value=row.op,
                on_change=lambda value: S.set_row(group, index, "op", value),  # type: ignore[operator]
                size="2",
            ),
            rx.cond(
                row.needs_value,
                rx.input(
                    value=row.value,
                    on_change=lambda value: S.set_row(group, index, "value", value),  # type: ignore[operator]
                    placeholder=row.value_placeholder,
                    aria_label="Value",
                    size="2",
                    flex="1",
                    min_width="8em",
                    custom_attrs={"aria-invalid": rx.cond(row.error != "", "true", "false")},
                ),
                rx.box(flex="1"),
            ),
            rx.icon_button(
                rx.icon("x", size=14),
                on_click=S.remove_row(group, index),  # type: ignore[operator]
                variant="ghost",
                color_scheme="gray",
                size="1",
                type="button",
                aria_label="Remove this condition",
            ),
            align="center",
            spacing="2",
            width="100%",
            wrap="wrap",
        ),
        rx.cond(
            row.error != "",
            rx.text(row.error, size="1", color_scheme="red", role="alert", class_name="filter-row-error"),
        ),
        spacing="1",
        width="100%",
        key=row.id,
        class_name="filter-row",
    )


def _group(group: ObjectVar[FilterGroup], index: rx.Var[int]) -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.hstack(
                rx.text("Group: match", size="2", weight="medium"),
                _mode_control(
                    group.mode,
                    lambda mode: S.set_group_mode(index, mode),  # type: ignore[operator]
                    "How this group's conditions combine",
                ),
                rx.spacer(),
                rx.button(
                    rx.icon("trash_2", size=14),
                    "Remove group",
                    on_click=S.remove_group(index),  # type: ignore[operator]
                    variant="ghost",
                    color_scheme="red",
                    size="1",
                    type="button",
                ),
                align="center",
                width="100%",
            ),
            rx.foreach(group.rows, lambda row, r: _row(index, row, r)),
            rx.button(
                rx.icon("plus", size=14),
                "Condition",
                on_click=S.add_row(index),  # type: ignore[operator]
                variant="soft",
                size="1",
                type="button",
            ),
            spacing="2",
            width="100%",
        ),
        key=group.id,
        padding="0.75em",
        border_left=f"3px solid {rx.color('accent', 6)}",
        background=rx.color("gray", 2),
        border_radius="var(--radius-2)",
        width="100%",
    )


def _builder() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("Count events that match", size="2", weight="medium"),
            _mode_control(S.filter_mode, S.set_filter_mode, "How the conditions combine"),
            rx.text("of these conditions", size="2", weight="medium"),
            align="center",
            wrap="wrap",
        ),
        rx.cond(
            (S.filter_rows.length() == 0) & (S.filter_groups.length() == 0),  # type: ignore[attr-defined]
            rx.text("No conditions: every event counts.", size="2", color_scheme="gray"),
        ),
        rx.foreach(S.filter_rows, lambda row, r: _row(-1, row, r)),
        rx.foreach(S.filter_groups, _group),
        rx.hstack(
            rx.button(
                rx.icon("plus", size=14),
                "Condition",
                on_click=S.add_row(-1),  # type: ignore[operator]
                variant="soft",
                size="1",
                type="button",
                id="add-condition",
            ),
            rx.button(
                rx.icon("list_tree", size=14),
                "Group",
                on_click=S.add_group,
                variant="soft",
                size="1",
                type="button",
            ),
            spacing="2",
        ),
        spacing="2",
        width="100%",
    )


def filter_builder() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("Filters", size="2", weight="medium", as_="div"),
            rx.spacer(),
            rx.button(
                rx.cond(S.json_mode, "Use the builder", "Edit as JSON"),
                on_click=S.toggle_json_mode,
                variant="ghost",
                size="1",
                type="button",
            ),
            width="100%",
            align="center",
        ),
        rx.cond(
            S.json_mode,
            rx.text_area(
                value=S.filter_json,
                on_change=S.set_filter_json,
                placeholder='{"and": [{"field": "route", "op": "eq", "value": "/v1/items/{id}"}]}',
                rows="10",
                width="100%",
                font_family="var(--code-font-family)",
                aria_label="Filters as JSON",
            ),
            _builder(),
        ),
        rx.cond(
            S.filter_error != "",
            rx.text(S.filter_error, size="1", color_scheme="red", role="alert", id="filter-error"),
        ),
        rx.cond(
            S.filter_hint != "",
            rx.box(
                rx.text("Expected shape", size="1", weight="medium"),
                rx.el.pre(
                    S.filter_hint,
                    font_family="var(--code-font-family)",
                    font_size="var(--font-size-1)",
                    white_space="pre-wrap",
                    margin="0",
                ),
                id="filter-hint",
                padding="0.5em 0.75em",
                background=rx.color("gray", 3),
                border_radius="var(--radius-2)",
                width="100%",
            ),
        ),
        spacing="2",
        width="100%",
        padding="0.75em",
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="var(--radius-3)",
        role="group",
        aria_label="Filters",
    )
