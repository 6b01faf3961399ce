"""The Stripe request of a planned entry: usage record vs meter event params, derived idempotency keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal_api.metering.meters.metrics import ChargeBy
from portal_api.reporting.ledger_planning import ledger_row
from portal_api.reporting.models import ReportStatus
from portal_api.reporting.report_decisions import decide_hour
from portal_api.reporting.report_plan import Action, Head, LedgerEntry
from portal_api.reporting.stripe_usage_params import (
    MAX_IDENTIFIER,
    decimal_text,
    idempotency_key,
    meter_event_identifier,
    stripe_request,
)
from portal_api.reporting.targets import PriceRoute
from tests.api.reporting.planning_facts import HOUR, JAN, METER_EVENT, USAGE_RECORD, target, ts

H5 = JAN + 5 * HOUR


def planned(
    route: PriceRoute,
    value_milli: int,
    *,
    head: Head | None = None,
    charge_by: ChargeBy = ChargeBy.SUM,
    action: Action = "increment",
    subscription_item_id: str = "si_1",
) -> LedgerEntry:
    decision = decide_hour(
        target(charge_by, subscription_item_id=subscription_item_id),
        route,
        H5,
        value_milli=value_milli,
        head=head,
        wanted_milli=value_milli,
        action=action,
    )
    assert decision.entry is not None
    return decision.entry


def test_a_legacy_usage_record_posts_whole_units_at_the_hours_timestamp_with_its_action() -> None:
    request = stripe_request(planned(USAGE_RECORD, 3000, charge_by=ChargeBy.LAST, action="set"))

    assert request.path == "/v1/subscription_items/si_1/usage_records"
    assert request.params == {"quantity": 3, "timestamp": ts(H5), "action": "set"}
    assert request.idempotency_key == "usage:si_1:mtr_1:20250101T05:0"


def test_a_meter_event_carries_the_exact_value_the_customer_and_the_key_as_identifier() -> None:
    request = stripe_request(planned(METER_EVENT, 2500))

    assert request.path == "/v1/billing/meter_events"
    assert request.params == {
        "event_name": "api_calls",
        "payload": {"stripe_customer_id": "cus_1", "value": "2.5"},
        "identifier": "usage:si_1:mtr_1:20250101T05:0",
        "timestamp": ts(H5),
    }


def test_a_meter_event_uses_the_payload_keys_of_the_price_meter() -> None:
    route = PriceRoute("price_1", "meter_event", {}, event_name="calls", customer_key="cust", value_key="n")
    request = stripe_request(planned(route, 1000))
    assert request.params["payload"] == {"cust": "cus_1", "n": "1"}
    assert request.params["event_name"] == "calls"


def test_a_correction_sends_the_delta_under_a_new_key_and_the_same_revision_always_the_same_request() -> None:
    first = stripe_request(planned(USAGE_RECORD, 3000))
    again = stripe_request(planned(USAGE_RECORD, 3000))
    correction = stripe_request(planned(USAGE_RECORD, 5000, head=Head(0, 3000, 3000)))

    assert again == first
    assert again.params_json == first.params_json
    assert correction.idempotency_key == "usage:si_1:mtr_1:20250101T05:1"
    assert correction.params["quantity"] == 2
    assert correction.idempotency_key != first.idempotency_key


def test_the_idempotency_key_names_item_meter_hour_and_revision() -> None:
    hour = datetime(2025, 3, 9, 23, tzinfo=UTC)
    assert idempotency_key("si_9", "mtr_2", hour, 4) == "usage:si_9:mtr_2:20250309T23:4"


def test_params_are_stored_as_compact_json_with_sorted_keys() -> None:
    request = stripe_request(planned(USAGE_RECORD, 3000))
    assert request.params_json == f'{{"action":"increment","quantity":3,"timestamp":{ts(H5)}}}'


def test_a_key_too_long_for_a_meter_event_identifier_is_hashed_deterministically() -> None:
    entry = planned(METER_EVENT, 1000, subscription_item_id="si_" + "x" * 120)
    request = stripe_request(entry)

    identifier = request.params["identifier"]
    assert len(request.idempotency_key) > MAX_IDENTIFIER
    assert identifier != request.idempotency_key
    assert identifier.startswith("usage:") and len(identifier) <= MAX_IDENTIFIER
    assert identifier == meter_event_identifier(request.idempotency_key)
    assert meter_event_identifier("usage:short") == "usage:short"


@pytest.mark.parametrize(
    ("value_milli", "text"), [(12000, "12"), (500, "0.5"), (-3250, "-3.25"), (1, "0.001"), (0, "0")]
)
def test_meter_event_values_are_plain_decimal_text(value_milli: int, text: str) -> None:
    assert decimal_text(value_milli) == text


def test_a_skip_has_no_request_but_keeps_its_revisions_key() -> None:
    entry = planned(METER_EVENT, 1000, head=Head(0, 5000, 5000))  # a decrease
    assert entry.skipped

    request = stripe_request(entry)

    assert (request.path, request.params, request.params_json) == ("", {}, "{}")
    assert request.idempotency_key == "usage:si_1:mtr_1:20250101T05:1"


def test_the_ledger_row_carries_the_request_and_a_skip_its_reason() -> None:
    now = datetime(2025, 1, 1, 6, 5, tzinfo=UTC)
    report = ledger_row(planned(USAGE_RECORD, 3000), "rrun_1", now)
    skip = ledger_row(planned(METER_EVENT, 1000, head=Head(0, 5000, 5000)), "rrun_1", now)

    assert report["status"] == ReportStatus.PENDING and report["last_error"] is None
    assert (report["kind"], report["action"], report["path"]) == (
        "usage_record",
        "increment",
        "/v1/subscription_items/si_1/usage_records",
    )
    assert report["params"] == stripe_request(planned(USAGE_RECORD, 3000)).params_json
    assert (report["run_id"], report["created_at"], report["attempts"]) == ("rrun_1", now, 0)
    assert skip["status"] == ReportStatus.SKIPPED
    assert (skip["kind"], skip["action"], skip["path"], skip["quantity_milli"]) == ("skipped", "", "", 0)
    assert "cannot be decremented" in skip["last_error"]
