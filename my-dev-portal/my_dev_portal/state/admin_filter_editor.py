"""The meter form's filter editor: the builder's rows and groups, or the filter as JSON (a State mixin).

The translation to and from the API's filter tree lives in admin_filters.py; this holds what is on screen.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from my_dev_portal.state import admin_filters as filters
from my_dev_portal.state.admin_filters import FilterGroup, FilterRow

# Ids of rows and groups filled from a stored filter start here, clear of the ones handed out before.
FILLED_IDS_START = 10_000


class FilterEditor(rx.State, mixin=True):
    """A top group (AND or OR) of condition rows plus sub-groups, or the raw JSON tree."""

    filter_mode: str = "and"
    filter_rows: list[FilterRow] = []
    filter_groups: list[FilterGroup] = []
    json_mode: bool = False
    filter_json: str = ""
    filter_error: str = ""
    # Under an error of the JSON editor: the shape the API takes, with an example of each kind of node.
    filter_hint: str = ""
    _next_id: int = 1

    def _all_rows(self) -> list[FilterRow]:
        return [*self.filter_rows, *(row for group in self.filter_groups for row in group.rows)]

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _clear_filter_errors(self) -> None:
        self.filter_error = self.filter_hint = ""
        for row in self._all_rows():
            row.error = ""

    def _new_filter(self) -> None:
        """One empty condition in an AND group."""
        self.filter_mode = "and"
        self.filter_rows = [filters.new_row(self._take_id())]
        self.filter_groups = []
        self.json_mode = False
        self.filter_json = ""

    def _edit_filter(self, tree: Any) -> None:
        """`tree` in the builder, or as JSON when it is deeper than the builder shows."""
        try:
            mode, rows, groups = filters.from_tree(tree)
        except filters.TooDeep:
            self.json_mode = True
            self.filter_json = json.dumps(tree, indent=2)
            self.filter_mode, self.filter_rows, self.filter_groups = "and", [], []
        else:
            self.json_mode = False
            self.filter_json = ""
            self.filter_mode, self.filter_rows, self.filter_groups = mode, rows, groups
            self._next_id = FILLED_IDS_START

    def _rows_of(self, group: int) -> list[FilterRow]:
        return self.filter_rows if group < 0 else self.filter_groups[group].rows

    @rx.event
    def set_filter_mode(self, mode: str | list[str]) -> None:
        # A segmented control may send a list; it only ever holds one of "and" / "or" here.
        self.filter_mode = "or" if mode in ("or", ["or"]) else "and"

    @rx.event
    def add_row(self, group: int) -> None:
        if group >= len(self.filter_groups):
            return
        self._rows_of(group).append(filters.new_row(self._take_id()))
        self.filter_error = ""

    @rx.event
    def remove_row(self, group: int, row: int) -> None:
        if group >= len(self.filter_groups):
            return
        rows = self._rows_of(group)
        if 0 <= row < len(rows):
            rows.pop(row)
        if group >= 0 and not rows:
            self.filter_groups.pop(group)

    @rx.event
    def set_row(self, group: int, row: int, prop: str, value: str) -> None:
        """Change a row's field, key (header name or metadata path), op or value."""
        if group >= len(self.filter_groups) or prop not in ("field", "key", "op", "value"):
            return
        rows = self._rows_of(group)
        if not 0 <= row < len(rows):
            return
        item = rows[row]
        setattr(item, prop, value)
        if prop == "field" and value not in filters.KEYED_FIELDS:
            item.key = ""
        item.error = ""
        filters.refresh_row(item)
        # Reflex notices changes to a list, not to an object inside it.
        if group < 0:
            self.filter_rows = list(rows)
        else:
            self.filter_groups = list(self.filter_groups)

    @rx.event
    def add_group(self) -> None:
        mode = "or" if self.filter_mode == "and" else "and"
        group = FilterGroup(id=self._take_id(), mode=mode, rows=[filters.new_row(self._take_id())])
        self.filter_groups.append(group)
        self.filter_error = ""

    @rx.event
    def set_group_mode(self, group: int, mode: str | list[str]) -> None:
        if 0 <= group < len(self.filter_groups):
            self.filter_groups[group].mode = "or" if mode in ("or", ["or"]) else "and"
            self.filter_groups = list(self.filter_groups)

    @rx.event
    def remove_group(self, group: int) -> None:
        if 0 <= group < len(self.filter_groups):
            self.filter_groups.pop(group)

    def _show_json_error(self, message: str) -> None:
        self.filter_error = message
        self.filter_hint = filters.JSON_SHAPE_HINT

    @rx.event
    def set_filter_json(self, value: str) -> None:
        self.filter_json = value
        self.filter_error = self.filter_hint = ""

    @rx.event
    def toggle_json_mode(self) -> None:
        """Switch between the builder and the JSON tree, carrying the filter across."""
        self.filter_error = self.filter_hint = ""
        if not self.json_mode:
            tree = filters.to_tree(self.filter_mode, self.filter_rows, self.filter_groups)
            self.filter_json = "" if tree is None else json.dumps(tree, indent=2)
            self.json_mode = True
            return
        try:
            tree = json.loads(self.filter_json) if self.filter_json.strip() else None
        except ValueError as exc:
            self._show_json_error(f"The JSON is not valid: {exc}")
            return
        try:
            self.filter_mode, self.filter_rows, self.filter_groups = filters.from_tree(tree)
        except filters.TooDeep as exc:
            self.filter_error = f"The builder cannot show this filter ({exc}); keep editing it as JSON."
            return
        self._next_id = FILLED_IDS_START
        self.json_mode = False

    def _filter_tree(self) -> tuple[bool, Any]:
        """(ok, tree) from the builder or the JSON; marks each row that is not a whole condition yet."""
        if self.json_mode:
            if not self.filter_json.strip():
                return True, None
            try:
                return True, json.loads(self.filter_json)
            except ValueError as exc:
                self._show_json_error(f"The JSON is not valid: {exc}")
                return False, None
        complete = True
        for row in self._all_rows():
            row.error = filters.missing_part(row)
            complete = complete and not row.error
        if not complete:
            self.filter_rows = list(self.filter_rows)
            self.filter_groups = list(self.filter_groups)
            return False, None
        return True, filters.to_tree(self.filter_mode, self.filter_rows, self.filter_groups)

    def _show_filter_error(self, message: str, path: str) -> None:
        """The API's complaint on the row at `path` ("filters.and[1].or[0]"), else above the builder."""
        if self.json_mode:
            self._show_json_error(message)
            return
        where = filters.locate_error(path, self.filter_rows, self.filter_groups)
        if where is None:
            self.filter_error = message
            return
        group, row = where
        self._rows_of(group)[row].error = message.split(": ", 1)[-1]
        self.filter_rows = list(self.filter_rows)
        self.filter_groups = list(self.filter_groups)
