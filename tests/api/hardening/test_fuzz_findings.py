"""Bugs the schemathesis run found, one test each, so they stay fixed."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from portal_api.config import Settings
from portal_api.errors import NotFound
from portal_api.stripe_client import checked_id
from stripe_emulator.testing import EmulatorServer
from tests.fixtures.emulator import emulator_settings
from tests.fixtures.members import ADMIN, ADMIN_TOKEN, sign_up


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], emulator: EmulatorServer) -> Settings:
    return emulator_settings(
        settings_factory, emulator, stripe_api_key="sk_test_fuzz_findings", admin_bootstrap_token=ADMIN_TOKEN
    )


@pytest.mark.parametrize("price_id", ["\nprice_1", "price_1\x11x", "../customers/cus_1", "price 1", "príce"])
async def test_a_price_id_that_cannot_be_a_stripe_id_is_404_and_never_sent_to_stripe(
    api: httpx.AsyncClient, emulator: EmulatorServer, price_id: str
) -> None:
    # Was 502: the SDK put the id into the URL path as is (a newline broke the request; "../" reached
    # another Stripe endpoint with our key).
    member = await sign_up(api, "dev@example.com")
    emulator.seed()
    before = emulator.stats()

    response = await api.post("/v1/checkout/sessions", json={"price_id": price_id}, headers=member.headers)

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "price_not_found"
    assert emulator.stats() == before


async def test_completing_a_checkout_session_id_with_control_characters_is_404(
    api: httpx.AsyncClient,
) -> None:
    member = await sign_up(api, "dev@example.com")

    response = await api.post("/v1/checkout/sessions/%0Acs_test_1%C2%BF/complete", headers=member.headers)

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "checkout_session_not_found"


def test_stripe_ids_are_letters_digits_and_underscores() -> None:
    assert checked_id("price", "price_1Pq9ZxAbC") == "price_1Pq9ZxAbC"
    for bad in ("", "a/b", "a..b", "a b", "x" * 256, "cs_test_\n"):
        with pytest.raises(NotFound):
            checked_id("price", bad)


async def test_a_customer_list_offset_past_what_the_database_takes_is_422(api: httpx.AsyncClient) -> None:
    # Was a 500: OverflowError on SQLite (DataError on PostgreSQL) for an offset beyond 64 bits.

    huge = await api.get("/v1/admin/customers", params={"offset": 9464557213535780864}, headers=ADMIN)
    fine = await api.get("/v1/admin/customers", params={"offset": 2**31 - 1}, headers=ADMIN)

    assert huge.status_code == 422 and huge.json()["error"]["code"] == "validation_error"
    assert fine.status_code == 200 and fine.json()["data"] == []


async def test_nul_characters_are_refused_with_422_on_every_backend(api: httpx.AsyncClient) -> None:
    # Was a 500 on PostgreSQL (text cannot hold U+0000) for bodies, path ids and query values.
    member = await sign_up(api, "dev@example.com")
    json_headers = {**member.headers, "Content-Type": "application/json"}

    in_body = await api.post("/v1/keys", content=b'{"name": "ci\\u0000"}', headers=json_headers)
    in_key = await api.post("/v1/keys", content=b'{"name\\u0000": "ci"}', headers=json_headers)
    in_path = await api.get("/v1/admin/meters/meter%00x", headers=ADMIN)
    in_query = await api.get("/v1/usage", params={"granularity": "hour\x00"}, headers=member.headers)
    escaped_backslash = await api.post("/v1/keys", content=b'{"name": "ci\\\\u0000"}', headers=json_headers)

    for response in (in_body, in_key, in_path, in_query):
        assert response.status_code == 422, response.text
        assert response.json()["error"] == {
            "code": "validation_error",
            "message": "Text must not contain NUL (U+0000) characters",
        }
    assert escaped_backslash.status_code == 201 and escaped_backslash.json()["name"] == "ci\\u0000"
