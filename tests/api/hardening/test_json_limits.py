"""JSON nesting limit (MAX_JSON_DEPTH = 64): a body nested too deep is a 400 `json_too_deep`, never a 500,
on the anonymous sign-up, the ingest routes and signed webhooks; in a batch only the too-deep event is
refused; a correctly signed webhook that is a JSON array is a 400."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from portal_api.protection.json_limits import MAX_JSON_DEPTH, decode_json, json_problem
from tests.fixtures.members import ADMIN, ADMIN_EMAIL, sign_up

DEEP_ARRAYS = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECTS = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
JSON = {"Content-Type": "application/json"}


def nested(levels: int) -> Any:
    """`levels` arrays, one inside the other, around a string."""
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def event(**fields: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "route": "/v1/x",
        "method": "GET",
        "status": 200,
        "timestamp": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        **fields,
    }


def assert_too_deep(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {
        "error": {"code": "json_too_deep", "message": f"The JSON nests deeper than {MAX_JSON_DEPTH} levels"}
    }


def test_the_limit_is_exact_and_the_walk_needs_no_recursion() -> None:
    assert json_problem(nested(MAX_JSON_DEPTH)) is None
    assert json_problem(nested(MAX_JSON_DEPTH + 1)) == "too_deep"
    assert json_problem({"k": nested(MAX_JSON_DEPTH - 1)}) is None
    assert json_problem({"k\x00": 1}) == "nul"
    assert decode_json(json.dumps(nested(MAX_JSON_DEPTH))) == nested(MAX_JSON_DEPTH)


@pytest.mark.parametrize("body", [DEEP_ARRAYS, DEEP_OBJECTS, json.dumps(nested(200)).encode()])
async def test_a_too_deep_body_to_the_anonymous_sign_up_is_a_400(api: httpx.AsyncClient, body: bytes) -> None:
    assert_too_deep(await api.post("/v1/auth/signup", content=body, headers=JSON))
    fine = await api.post(
        "/v1/auth/signup", json={"email": "after@example.com", "password": "correct horse battery"}
    )
    assert fine.status_code == 201, fine.text  # nothing broke on the way


async def test_a_too_deep_ingest_body_is_a_400_and_a_too_deep_event_is_refused_on_its_own(
    api: httpx.AsyncClient,
) -> None:
    assert_too_deep(await api.post("/v1/usage/events", content=DEEP_ARRAYS, headers={**JSON, **ADMIN}))

    batch = {"events": [event(), event(metadata={"deep": nested(100)}), event()]}
    response = await api.post("/v1/usage/events", json=batch, headers=ADMIN)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [(1, "json_too_deep")]


async def test_a_too_deep_collector_batch_is_a_400(api: httpx.AsyncClient) -> None:
    admin = await sign_up(api, ADMIN_EMAIL)
    created = await api.post("/v1/admin/collector-tokens", json={"name": "moesif"}, headers=admin.headers)
    token = {"X-Moesif-Application-Id": created.json()["token"]}

    assert_too_deep(
        await api.post("/collector/v1/events/batch", content=DEEP_ARRAYS, headers={**JSON, **token})
    )
    assert_too_deep(await api.post("/collector/v1/events", content=DEEP_OBJECTS, headers={**JSON, **token}))


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b'[{"id": "evt_1", "type": "customer.created"}]', "not a Stripe event object"),
        (DEEP_ARRAYS, "deeper than"),
        (b'{"id": "evt_2", "type": "x", "data": ' + json.dumps(nested(100)).encode() + b"}", "deeper than"),
    ],
)
async def test_a_correctly_signed_webhook_that_is_no_event_object_is_a_400(
    api: httpx.AsyncClient, payload: bytes, problem: str
) -> None:
    timestamp = int(time.time())
    digest = hmac.new(b"whsec_test_secret", f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    response = await api.post(
        "/v1/webhooks/stripe",
        content=payload,
        headers={**JSON, "Stripe-Signature": f"t={timestamp},v1={digest}"},
    )

    assert response.status_code == 400, response.text
    assert (
        response.json()["error"]["code"] == "invalid_payload"
        and problem in response.json()["error"]["message"]
    )
