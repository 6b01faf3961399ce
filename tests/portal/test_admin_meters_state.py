"""The meters page's States: list, price picker, filter builder -> API body, inline errors, edit, delete,
Meter Test."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest

from my_dev_portal import routes
from my_dev_portal.api_client import ApiError
from my_dev_portal.state.admin_filters import JSON_SHAPE_HINT
from my_dev_portal.state.admin_meter_delete import MeterDeleteState
from my_dev_portal.state.admin_meter_form import CHARGE_BY_FROM_PRICE, MeterFormState
from my_dev_portal.state.admin_meter_test import MeterTestState
from my_dev_portal.state.admin_meters import AdminMetersState
from my_dev_portal.state.auth import AuthState
from tests.portal.api_objects import meter, meter_test_event, meter_test_result, plan, synthetic_event, tier
from tests.portal.fakes import FakeApi, redirect_path, run, signed_in_admin

PLANS = [
    plan(
        price_id="price_free",
        product_id="prod_api",
        product_name="My API",
        nickname="Free",
        unit_amount=0,
    ),
    plan(
        price_id="price_graduated",
        product_id="prod_api",
        product_name="My API",
        nickname="Pay as you go",
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[tier(up_to=1000, unit_amount=0), tier(up_to=None, unit_amount=2)],
        usage_type="metered",
    ),
]
S = TypeVar("S", bound=AdminMetersState)
STORED_FILTER = {
    "and": [
        {"field": "route", "op": "eq", "value": "/v1/items/{id}"},
        {"field": "status", "op": "eq", "value": "2xx"},
        {
            "or": [
                {"field": "metadata.plan", "op": "eq", "value": "pro"},
                {"field": "weight", "op": "gt", "value": 5},
            ]
        },
    ]
}


async def meters_page(state, fake_api: FakeApi, part: type[S] = AdminMetersState) -> S:  # type: ignore[assignment]
    """The loaded meters page, or `part` of it: one of its substates (form, Meter Test, delete)."""
    fake_api.plan_list = PLANS
    page = await signed_in_admin(await state(AdminMetersState, url="/admin/meters", token="tok_admin"))
    await run(AdminMetersState.load, page)
    fake_api.calls.clear()
    return await page.get_state(part)


async def fill(page: MeterFormState, name: str = "API calls") -> None:
    await run(MeterFormState.new_meter, page)
    await run(MeterFormState.set_form_name, page, name)


async def set_row(page: MeterFormState, group: int, row: int, **values: str) -> None:
    for prop, value in values.items():
        await run(MeterFormState.set_row, page, group, row, prop, value)


def sent(fake_api: FakeApi, method: str) -> dict[str, Any]:
    [(body,)] = [args[-1:] for args in fake_api.called(method)]
    return body


async def test_meters_are_listed_and_only_metered_prices_are_offered(fake_api: FakeApi, state) -> None:
    fake_api.meter_list = [
        meter(
            id="mtr_1",
            name="Item reads",
            stripe_price_id="price_graduated",
            price_nickname="Pay as you go",
            filters=STORED_FILTER,
            metric={"type": "sum", "field": "weight"},
            charge_by="max_during_period",
            active=False,
        )
    ]
    page = await meters_page(state, fake_api)
    [row] = page.meters
    assert (row.name, row.price, row.metric, row.charge_by, row.active) == (
        "Item reads",
        "Pay as you go",
        "Sum of weight",
        "Maximum in the period",
        False,
    )
    assert row.filters == (
        "route is /v1/items/{id} AND status is 2xx AND (metadata.plan is pro OR weight is greater than 5)"
    )
    assert [choice.price_id for choice in page.price_choices] == ["price_graduated"]
    assert page.price_choices[0].label == "My API · Pay as you go"


async def test_metered_prices_without_a_meter_are_listed_with_a_create_shortcut(
    fake_api: FakeApi, state
) -> None:
    fake_api.meter_list = [meter(id="mtr_1", name="Old", stripe_price_id="price_graduated", active=False)]
    page = await meters_page(state, fake_api, MeterFormState)
    [unbilled] = page.unbilled
    assert (unbilled.price_id, unbilled.label) == ("price_graduated", "My API · Pay as you go")
    assert unbilled.note == "1 switched-off meter on this price"

    await run(MeterFormState.new_meter_for_price, page, "price_graduated")
    assert page.form_open and not page.editing
    assert (page.form_price_id, page.form_name) == ("price_graduated", "API calls")
    assert page.filter_rows == [] and page.filter_groups == []  # "No conditions: every event counts."
    await run(MeterFormState.save_meter, page)

    body = sent(fake_api, "create_meter")
    assert (body["stripe_price_id"], body["filters"], body["active"]) == ("price_graduated", None, True)
    assert page.unbilled == []  # the list was reloaded with the meters


async def test_a_refused_second_meter_on_a_price_is_shown_at_the_price(fake_api: FakeApi, state) -> None:
    fake_api.meter_list = [meter(id="mtr_1", name="Search calls", stripe_price_id="price_graduated")]
    page = await meters_page(state, fake_api, MeterFormState)
    assert page.unbilled == []
    await fill(page)
    await run(MeterFormState.remove_row, page, -1, 0)
    message = "Price price_graduated is already billed by the active meter “Search calls” (mtr_1)."
    fake_api.fail["create_meter"] = ApiError(409, "price_already_metered", message, {"meter_id": "mtr_1"})
    await run(MeterFormState.save_meter, page)
    assert page.form_open and page.price_error == message and page.form_error == ""


async def test_coverage_failure_is_said_but_the_meters_still_load(fake_api: FakeApi, state) -> None:
    fake_api.fail["meter_coverage"] = ApiError(502, "upstream_error", "Stripe did not answer")
    page = await meters_page(state, fake_api)
    assert page.loaded and page.error == "" and page.unbilled == []
    assert page.coverage_error == "Which prices the meters bill could not be checked: Stripe did not answer"


async def test_new_meter_starts_on_the_first_metered_price_with_one_empty_condition(
    fake_api: FakeApi, state
) -> None:
    page = await meters_page(state, fake_api, MeterFormState)
    await run(MeterFormState.new_meter, page)
    assert page.form_open and not page.editing
    assert page.form_price_id == "price_graduated"
    assert page.selected_price_summary.startswith("Starts at")
    assert [(row.field, row.op, row.value) for row in page.filter_rows] == [("route", "eq", "")]


async def test_builder_rows_and_groups_become_the_apis_filter_tree(fake_api: FakeApi, state) -> None:
    page = await meters_page(state, fake_api, MeterFormState)
    await fill(page)
    await set_row(page, -1, 0, value="/v1/items/{id}")
    await run(MeterFormState.add_row, page, -1)
    await set_row(page, -1, 1, field="status", value="2xx")
    await run(MeterFormState.add_group, page)
    await set_row(page, 0, 0, field="metadata", key="plan", value="pro")
    await run(MeterFormState.add_row, page, 0)
    await set_row(page, 0, 1, field="request.headers", key="x-units", op="gt", value="5")
    await run(MeterFormState.set_form_metric, page, "unique_users")
    await run(MeterFormState.set_form_charge_by, page, "max_during_period")
    await run(MeterFormState.save_meter, page)

    body = sent(fake_api, "create_meter")
    assert body == {
        "name": "API calls",
        "stripe_price_id": "price_graduated",
        "stripe_product_id": "prod_api",
        "filters": {
            "and": [
                {"field": "route", "op": "eq", "value": "/v1/items/{id}"},
                {"field": "status", "op": "eq", "value": "2xx"},
                {
                    "or": [
                        {"field": "metadata.plan", "op": "eq", "value": "pro"},
                        {"field": "request.headers.x-units", "op": "gt", "value": 5},
                    ]
                },
            ]
        },
        "metric": {"type": "unique_users"},
        "charge_by": "max_during_period",
        "active": True,
    }
    assert not page.form_open
    assert [meter.name for meter in page.meters] == ["API calls"]


async def test_the_list_the_form_reloads_reaches_the_browser(fake_api: FakeApi, state) -> None:
    """The form is a substate; the list it reloads after saving lives on its parent, in the parent's delta."""
    form = await meters_page(state, fake_api, MeterFormState)
    root = form.parent_state
    while root.parent_state is not None:
        root = root.parent_state
    root._clean()
    await fill(form)
    await run(MeterFormState.remove_row, form, -1, 0)
    await run(MeterFormState.save_meter, form)
    delta = root.get_delta()
    assert any(name.startswith("meters") for name in delta[AdminMetersState.get_full_name()])
    assert any(name.startswith("form_open") for name in delta[MeterFormState.get_full_name()])


async def test_no_condition_means_every_event_and_charge_by_follows_the_price(
    fake_api: FakeApi, state
) -> None:
    page = await meters_page(state, fake_api, MeterFormState)
    await fill(page)
    await run(MeterFormState.remove_row, page, -1, 0)
    await run(MeterFormState.set_filter_mode, page, ["or"])
    assert page.filter_mode == "or"
    await run(MeterFormState.save_meter, page)
    body = sent(fake_api, "create_meter")
    assert body["filters"] is None
    assert "charge_by" not in body
    assert page.form_charge_by == CHARGE_BY_FROM_PRICE


async def test_changing_a_field_drops_ops_it_does_not_take(fake_api: FakeApi, state) -> None:
    page = await meters_page(state, fake_api, MeterFormState)
    await fill(page)
    await set_row(page, -1, 0, field="user", op="exists")
    assert not page.filter_rows[0].needs_value
    await set_row(page, -1, 0, field="method")
    row = page.filter_rows[0]
    assert (row.op, row.ops, row.needs_value) == ("eq", ["eq", "neq"], True)
    await set_row(page, -1, 0, field="metadata", key="tier")
    await set_row(page, -1, 0, field="route")
    assert (page.filter_rows[0].key, page.filter_rows[0].keyed) == ("", False)


async def test_incomplete_rows_are_marked_before_calling_the_api(fake_api: FakeApi, state) -> None:
    page = await meters_page(state, fake_api, MeterFormState)
    await fill(page, name=" ")
    await set_row(page, -1, 0, field="request.headers", value="gold")
    await run(MeterFormState.add_row, page, -1)
    await set_row(page, -1, 1, field="status", op="lt")  # no value typed
    await run(MeterFormState.add_row, page, -1)
    await set_row(page, -1, 2, field="metadata", key="plan")
    await run(MeterFormState.add_group, page)
    await set_row(page, 0, 0, field="user", value="   ")  # only spaces
    await run(MeterFormState.set_form_metric, page, "sum")
    await run(MeterFormState.save_meter, page)
    assert fake_api.called("create_meter") == []
    assert page.name_error
    assert page.metric_error.startswith("Name the numeric field")
    assert [row.error for row in page.filter_rows] == [
        "Name the header or metadata field.",
        "Enter a value, or remove this condition.",
        "Enter a value, or remove this condition.",
    ]
    assert page.filter_groups[0].rows[0].error == "Enter a value, or remove this condition."


async def test_an_untouched_condition_is_refused_at_its_value_not_saved_as_every_event(
    fake_api: FakeApi, state
) -> None:
    """A condition left blank was once dropped and the meter saved as "every event"."""
    page = await meters_page(state, fake_api, MeterFormState)
    await fill(page)
    await set_row(page, -1, 0, field="status")

    await run(MeterFormState.save_meter, page)

    assert fake_api.called("create_meter") == [] and page.form_open
    assert page.filter_rows[0].error == "Enter a value, or remove this condition."
    await set_row(page, -1, 0, value="2xx")  # typing clears the mark; then it saves
    assert page.filter_rows[0].error == ""
    await run(MeterFormState.save_meter, page)
    assert sent(fake_api, "create_meter")["filters"] == {
        "and": [{"field": "status", "op": "eq", "value": "2xx"}]
    }


async def test_the_apis_blank_value_refusal_lands_on_its_row(fake_api: FakeApi, state) -> None:
    page = await meters_page(state, fake_api, MeterFormState)
    await fill(page)
    await set_row(page, -1, 0, field="method", value="GET")
    await run(MeterFormState.add_row, page, -1)
    await set_row(page, -1, 1, field="user", value="x")
    fake_api.fail["create_meter"] = ApiError(
        422,
        "invalid_filter",
        "filters.and[1].value: value is blank: enter what to compare with, or remove the condition",
        {"path": "filters.and[1].value"},
    )
    await run(MeterFormState.save_meter, page)
    assert [row.error for row in page.filter_rows] == [
        "",
        "value is blank: enter what to compare with, or remove the condition",
    ]
    assert page.filter_error == "" and page.filter_hint == ""


async def test_filter_error_from_the_api_lands_on_its_row(fake_api: FakeApi, state) -> None:
    page = await meters_page(state, fake_api, MeterFormState)
    await fill(page)
    await set_row(page, -1, 0, value="/v1/items")
    await run(MeterFormState.add_group, page)
    await set_row(page, 0, 0, field="method", value="GET")
    await run(MeterFormState.add_row, page, 0)
    await set_row(page, 0, 1, field="status", value="7xx")
    fake_api.fail["create_meter"] = ApiError(
        422,
        "invalid_filter",
        "filters.and[1].or[1]: status value must be a code like 404, a class like '2xx' or a range",
        {"path": "filters.and[1].or[1]"},
    )
    await run(MeterFormState.save_meter, page)
    assert page.form_open and not page.saving
    assert page.filter_groups[0].rows[1].error.startswith("status value must be a code")
    assert [row.error for row in page.filter_rows] == [""]
    assert page.form_error == ""


async def test_metric_price_and_charge_by_errors_are_shown_next_to_their_fields(
    fake_api: FakeApi, state
) -> None:
    page = await meters_page(state, fake_api, MeterFormState)
    cases = [
        (ApiError(422, "invalid_metric", "metric.field: sum needs a numeric field"), "metric_error"),
        (ApiError(422, "price_not_metered", "Price price_free is licensed"), "price_error"),
        (ApiError(422, "charge_by_mismatch", "Price aggregates usage with 'sum'"), "charge_by_error"),
        (ApiError(409, "price_already_metered", "Price is already billed by “Calls”"), "price_error"),
        (ApiError(503, "billing_unavailable", "The Stripe gateway is not configured"), "form_error"),
    ]
    for error, field in cases:
        await fill(page)
        await run(MeterFormState.remove_row, page, -1, 0)
        fake_api.fail["create_meter"] = error
        await run(MeterFormState.save_meter, page)
        assert getattr(page, field) == error.message, field


async def test_editing_a_meter_fills_the_builder_and_saves_with_patch(fake_api: FakeApi, state) -> None:
    fake_api.meter_list = [
        meter(
            id="mtr_1",
            name="Item reads",
            stripe_price_id="price_graduated",
            filters=STORED_FILTER,
            metric={"type": "sum", "field": "weight"},
            charge_by="sum_during_period",
        )
    ]
    page = await meters_page(state, fake_api, MeterFormState)
    await run(MeterFormState.edit_meter, page, "mtr_1")
    assert page.editing and not page.json_mode
    assert [(r.field, r.value) for r in page.filter_rows] == [("route", "/v1/items/{id}"), ("status", "2xx")]
    [group] = page.filter_groups
    assert group.mode == "or"
    assert [(r.field, r.key, r.op, r.value) for r in group.rows] == [
        ("metadata", "plan", "eq", "pro"),
        ("weight", "", "gt", "5"),
    ]
    assert (page.form_metric, page.form_sum_field) == ("sum", "weight")
    await run(MeterFormState.set_form_active, page, False)
    await run(MeterFormState.save_meter, page)
    [(meter_id, body)] = fake_api.called("update_meter")
    assert meter_id == "mtr_1"
    assert body["filters"] == STORED_FILTER
    assert body["active"] is False
    assert body["charge_by"] == "sum_during_period"


async def test_a_tree_deeper_than_the_builder_is_edited_as_json(fake_api: FakeApi, state) -> None:
    deep = {"or": [{"and": [{"or": [{"field": "method", "op": "eq", "value": "GET"}]}]}]}
    fake_api.meter_list = [meter(id="mtr_1", name="Deep", stripe_price_id="price_graduated", filters=deep)]
    page = await meters_page(state, fake_api, MeterFormState)
    await run(MeterFormState.edit_meter, page, "mtr_1")
    assert page.json_mode
    await run(MeterFormState.toggle_json_mode, page)
    assert page.json_mode and "keep editing it as JSON" in page.filter_error
    await run(MeterFormState.save_meter, page)
    assert fake_api.called("update_meter")[0][1]["filters"] == deep


async def test_json_mode_round_trips_and_reports_bad_json(fake_api: FakeApi, state) -> None:
    page = await meters_page(state, fake_api, MeterFormState)
    await fill(page)
    await set_row(page, -1, 0, field="method", value="POST")
    await run(MeterFormState.toggle_json_mode, page)
    assert '"value": "POST"' in page.filter_json
    await run(MeterFormState.set_filter_json, page, "{not json")
    await run(MeterFormState.toggle_json_mode, page)
    assert page.json_mode and page.filter_error.startswith("The JSON is not valid")
    assert page.filter_hint == JSON_SHAPE_HINT
    await run(MeterFormState.set_filter_json, page, '{"field": "status", "op": "eq", "value": "5xx"}')
    assert page.filter_hint == ""
    await run(MeterFormState.toggle_json_mode, page)
    assert not page.json_mode
    assert [(r.field, r.value) for r in page.filter_rows] == [("status", "5xx")]


async def test_json_errors_from_the_api_come_with_the_shape_it_expects(fake_api: FakeApi, state) -> None:
    page = await meters_page(state, fake_api, MeterFormState)
    await fill(page)
    await run(MeterFormState.toggle_json_mode, page)
    await run(MeterFormState.set_filter_json, page, '{"and": [{"feild": "route", "value": "/v1/items"}]}')
    fake_api.fail["create_meter"] = ApiError(
        422, "invalid_filter", "filters.and[0].field: Field required", {"path": "filters.and[0].field"}
    )

    await run(MeterFormState.save_meter, page)

    assert page.filter_error == "filters.and[0].field: Field required"
    assert '{"field": "route", "op": "eq", "value": "/v1/items/{id}"}' in page.filter_hint
    assert '{"and": [<conditions or groups>]}' in page.filter_hint and '{"or": [...]}' in page.filter_hint
    await run(MeterFormState.set_filter_json, page, '{"and": [{"field": "route", "value": "/v1/items"}]}')
    assert page.filter_error == page.filter_hint == ""


async def test_deleting_asks_first_then_deletes(fake_api: FakeApi, state) -> None:
    fake_api.meter_list = [meter(id="mtr_1", name="Item reads", stripe_price_id="price_graduated")]
    page = await meters_page(state, fake_api, MeterDeleteState)
    await run(MeterDeleteState.ask_delete, page, "mtr_1", "Item reads")
    assert page.confirming_delete
    await run(MeterDeleteState.set_delete_dialog_open, page, False)
    assert not page.confirming_delete and fake_api.called("delete_meter") == []
    await run(MeterDeleteState.ask_delete, page, "mtr_1", "Item reads")
    await run(MeterDeleteState.delete_confirmed, page)
    assert fake_api.called("delete_meter") == [("mtr_1",)]
    assert page.meters == []


async def test_deleting_the_meter_on_screen_closes_its_form_and_its_test_result(
    fake_api: FakeApi, state
) -> None:
    fake_api.meter_list = [meter(id="mtr_1", name="Item reads"), meter(id="mtr_2", name="Logins")]
    fake_api.test_result = meter_test_result()
    delete = await meters_page(state, fake_api, MeterDeleteState)
    form, test = await delete.get_state(MeterFormState), await delete.get_state(MeterTestState)
    await run(MeterFormState.edit_meter, form, "mtr_1")
    await run(MeterTestState.prepare_test, test, "mtr_1")
    await run(MeterTestState.run_test, test)
    assert form.form_open and test.test_ran and test.event_open
    await run(MeterDeleteState.ask_delete, delete, "mtr_2", "Logins")
    await run(MeterDeleteState.delete_confirmed, delete)
    assert form.form_open and test.test_ran  # another meter: both stay
    await run(MeterDeleteState.ask_delete, delete, "mtr_1", "Item reads")
    await run(MeterDeleteState.delete_confirmed, delete)
    assert (form.form_open, form.editing_id, test.test_ran, test.event_open) == (False, "", False, False)
    assert [row.id for row in delete.meters] == []


async def test_meter_test_shows_the_call_derived_from_the_filters_before_running(
    fake_api: FakeApi, state
) -> None:
    fake_api.meter_list = [meter(id="mtr_1", name="Searches")]
    fake_api.test_event = meter_test_event(
        event=synthetic_event(request_headers={"x-tier": "gold"}, metadata={"meter_test": True})
    )
    page = await meters_page(state, fake_api, MeterTestState)

    await run(MeterTestState.prepare_test, page, "mtr_1")

    assert fake_api.called("meter_test_event") == [("mtr_1",)] and fake_api.called("test_meter") == []
    assert page.event_open and page.event_meter_name == "Searches" and not page.event_loading
    assert (page.event_method, page.event_route, page.event_status, page.event_weight) == (
        "GET",
        "/v1/search",
        "200",
        "1",
    )
    assert page.event_request_headers == '{"x-tier": "gold"}'
    assert page.event_metadata == '{"meter_test": true}' and page.event_response_headers == ""
    assert page.event_reason == "" and not page.test_ran


async def test_an_unedited_call_lets_the_api_derive_it_and_an_edited_one_is_sent(
    fake_api: FakeApi, state
) -> None:
    fake_api.meter_list = [meter(id="mtr_1", name="Searches")]
    fake_api.test_result = meter_test_result()
    page = await meters_page(state, fake_api, MeterTestState)
    await run(MeterTestState.prepare_test, page, "mtr_1")

    await run(MeterTestState.run_test, page)
    await run(MeterTestState.set_event_field, page, "event_route", "/v1/search/deep")
    await run(MeterTestState.set_event_field, page, "event_method", "post")
    await run(MeterTestState.set_event_field, page, "event_status", "")
    await run(MeterTestState.set_event_field, page, "event_metadata", '{"plan": "pro"}')
    await run(MeterTestState.run_test, page)

    [(_, unedited), (_, edited)] = fake_api.called("test_meter")
    assert unedited is None
    assert edited == {
        "route": "/v1/search/deep",
        "method": "POST",
        "status": None,
        "weight": 1,
        "company": None,
        "request_headers": {},
        "response_headers": {},
        "metadata": {"plan": "pro"},
    }
    await run(MeterTestState.reset_event, page)
    assert (page.event_route, page.event_method, page.event_status) == ("/v1/search", "GET", "200")


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("event_status", "abc", "Status: a code from 100 to 599, or empty for none"),
        ("event_status", "700", "Status: a code from 100 to 599, or empty for none"),
        ("event_weight", "-1", "Weight: a whole number, 0 or more"),
        ("event_metadata", "{not json", 'Metadata: a JSON object, like {"plan": "pro"}'),
        ("event_request_headers", "[1, 2]", 'Request headers: a JSON object, like {"plan": "pro"}'),
    ],
)
async def test_an_edited_call_that_cannot_be_sent_is_explained_in_place(
    fake_api: FakeApi, state, field: str, value: str, error: str
) -> None:
    page = await meters_page(state, fake_api, MeterTestState)
    await run(MeterTestState.prepare_test, page, "mtr_1")
    await run(MeterTestState.set_event_field, page, field, value)

    await run(MeterTestState.run_test, page)

    assert page.event_error == error and fake_api.called("test_meter") == []
    await run(MeterTestState.set_event_field, page, field, "")
    assert page.event_error == ""


async def test_filters_no_call_can_match_are_explained_before_running(fake_api: FakeApi, state) -> None:
    reason = "No event can match this meter's filters: route is /a and route is /b cannot all hold at once"
    fake_api.test_event = meter_test_event(event=None, reason=reason)
    page = await meters_page(state, fake_api, MeterTestState)

    await run(MeterTestState.prepare_test, page, "mtr_1")

    assert page.event_open and page.event_reason == reason
    assert (page.event_route, page.event_method, page.event_status) == ("/meter-test", "GET", "")


async def test_meter_test_pass_shows_checks_and_both_sides(fake_api: FakeApi, state) -> None:
    fake_api.meter_list = [meter(id="mtr_1", name="Item reads", stripe_price_id="price_graduated")]
    fake_api.test_result = meter_test_result(
        currency="usd",
        subscription_id="sub_1",
        customer_id="cus_1",
        ours={"usage_quantity": "1500", "reported_quantity": "1500", "amount": 1000},
        stripe={"quantity": "1500", "amount": 1000, "amount_due": 1000},
        difference=0,
        checks=[
            {"name": "stripe_connection", "ok": True, "detail": "connected"},
            {"name": "event", "ok": True, "detail": "GET /v1/search -> 200"},
            {"name": "subscription", "ok": True, "detail": "the Meter Test's own subscription"},
            {"name": "report", "ok": True, "detail": "1 report(s) sent"},
            {"name": "invoice_preview", "ok": True, "detail": "as we compute"},
        ],
    )
    page = await meters_page(state, fake_api, MeterTestState)
    await run(MeterTestState.prepare_test, page, "mtr_1")
    events = await run(MeterTestState.run_test, page)
    assert fake_api.called("test_meter") == [("mtr_1", None)]
    assert page.test_ran and page.test_passed and page.testing_id == "" and not page.test_live
    assert page.test_meter_name == "Item reads"
    assert [(c.name, c.ok) for c in page.test_checks] == [
        ("Stripe connection", True),
        ("Test event matches the filters", True),
        ("Test customer and subscription", True),
        ("Usage reported to the test subscription", True),
        ("Invoice preview matches", True),
    ]
    assert (page.test_usage, page.test_stripe_usage) == ("1,500", "1,500")
    assert (page.test_amount, page.test_stripe_amount, page.test_difference) == ("$10.00", "$10.00", "$0.00")
    assert redirect_path(events) is None


async def test_a_live_mode_result_says_nothing_was_sent(fake_api: FakeApi, state) -> None:
    fake_api.test_result = meter_test_result(mode="live", subscription_id="sub_9", customer_id="cus_9")
    page = await meters_page(state, fake_api, MeterTestState)
    await run(MeterTestState.prepare_test, page, "mtr_1")

    await run(MeterTestState.run_test, page)

    assert page.test_ran and page.test_live and page.test_subscription == "sub_9"


async def test_meter_test_failure_says_why(fake_api: FakeApi, state) -> None:
    fake_api.test_result = meter_test_result(
        **{
            "pass": False,
            "reason": "the event given does not match this meter's filters: it fails route is /v1/search",
            "checks": [{"name": "event", "ok": False, "detail": "it fails route is /v1/search"}],
        }
    )
    page = await meters_page(state, fake_api, MeterTestState)
    await run(MeterTestState.prepare_test, page, "mtr_1")
    await run(MeterTestState.run_test, page)
    assert page.test_ran and not page.test_passed
    assert page.test_reason.startswith("the event given does not match")
    assert (page.test_amount, page.test_difference) == ("—", "—")


async def test_meter_test_that_cannot_run_is_explained(fake_api: FakeApi, state) -> None:
    page = await meters_page(state, fake_api, MeterTestState)
    fake_api.fail["meter_test_event"] = ApiError(404, "meter_not_found", "There is no meter mtr_9")
    await run(MeterTestState.prepare_test, page, "mtr_9")
    assert (
        not page.event_open and page.test_error == "Meter Test could not be prepared: There is no meter mtr_9"
    )
    del fake_api.fail["meter_test_event"]
    fake_api.fail["test_meter"] = ApiError(502, "upstream_error", "The billing provider did not answer")
    await run(MeterTestState.prepare_test, page, "mtr_1")
    await run(MeterTestState.run_test, page)
    assert not page.test_ran and page.testing_id == ""
    assert page.test_error == "Meter Test could not run: The billing provider did not answer"


async def test_losing_admin_rights_shows_admins_only(fake_api: FakeApi, state) -> None:
    fake_api.fail["meters"] = ApiError(403, "admin_only", "This needs a provider admin")
    page = await signed_in_admin(await state(AdminMetersState, url="/admin/meters", token="tok_admin"))
    await run(AdminMetersState.load, page)
    assert not (await page.get_state(AuthState)).is_admin


async def test_expired_session_goes_to_login(fake_api: FakeApi, state) -> None:
    fake_api.fail["meters"] = ApiError(401, "not_signed_in", "Sign in first")
    page = await signed_in_admin(await state(AdminMetersState, url="/admin/meters", token="tok_admin"))
    events = await run(AdminMetersState.load, page)
    assert redirect_path(events) == routes.signing_out_then("/login?next=/admin/meters")


async def test_non_admins_ask_nothing_of_the_admin_api(fake_api: FakeApi, state) -> None:
    page = await state(AdminMetersState, url="/admin/meters", token="tok_user")
    assert await run(AdminMetersState.load, page) == []
    test = await page.get_state(MeterTestState)
    await run(MeterTestState.prepare_test, test, "mtr_1")
    await run(MeterTestState.run_test, test)
    await run(MeterFormState.save_meter, await page.get_state(MeterFormState))
    assert fake_api.calls == []
