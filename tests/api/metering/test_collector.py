"""The Moesif-compatible collector: token auth, events and batches (gzip too), config, user/company maps."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing.models import Customer
from portal_api.core.container import Services
from portal_api.metering.models import CollectorToken, UsageEvent
from tests.api.metering.conftest import create_meter, meter_usage, moesif_event, now, usage
from tests.fixtures.billing import mirror_subscription
from tests.fixtures.keys import new_key_secret
from tests.fixtures.members import Member


def moesif_headers(token: str, **extra: str) -> dict[str, str]:
    return {"X-Moesif-Application-Id": token, "Content-Type": "application/json; charset=utf-8", **extra}


async def post_batch(
    api: httpx.AsyncClient, token: str, events: list[dict[str, Any]], *, gzipped: bool = False
) -> httpx.Response:
    body = json.dumps(events).encode()
    headers = moesif_headers(token)
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return await api.post("/collector/v1/events/batch", content=body, headers=headers)


async def test_missing_or_bad_collector_token_is_401_json(
    api: httpx.AsyncClient, admin: Member, collector_token: str
) -> None:
    missing = await api.post("/collector/v1/events/batch", json=[moesif_event()])
    bad = await api.post(
        "/collector/v1/events/batch", json=[moesif_event()], headers=moesif_headers("mdp_col_nope")
    )
    config = await api.get("/collector/v1/config")
    listed = await api.get("/v1/admin/collector-tokens", headers=admin.headers)
    token_id = listed.json()["data"][0]["id"]
    revoke = await api.delete(f"/v1/admin/collector-tokens/{token_id}", headers=admin.headers)
    revoked = await api.post(
        "/collector/v1/events/batch", json=[moesif_event()], headers=moesif_headers(collector_token)
    )

    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_application_id"
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_application_id"
    assert config.status_code == 401 and config.headers["content-type"] == "application/json"
    assert collector_token not in listed.text and listed.json()["data"][0]["prefix"] == collector_token[:16]
    assert revoke.status_code == 204
    assert revoked.status_code == 401


async def test_collector_tokens_are_admin_only_and_stored_hashed(
    api: httpx.AsyncClient, alice: Member, collector_token: str, db_session: AsyncSession
) -> None:
    as_customer = await api.post("/v1/admin/collector-tokens", json={"name": "x"}, headers=alice.headers)
    unknown = await api.delete("/v1/admin/collector-tokens/ctk_nope", headers=alice.headers)

    row = (await db_session.execute(select(CollectorToken))).scalar_one()
    assert as_customer.status_code == 403 and unknown.status_code == 403
    assert collector_token.startswith("mdp_col_") and row.token_hash != collector_token


async def test_batch_and_single_events_count_like_moesif_answers(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    collector_token: str,
    catalog: dict[str, Any],
    services: Services,
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    key = await new_key_secret(api, alice)

    batch = await post_batch(
        api, collector_token, [moesif_event(headers={"x-api-key": key}) for _ in range(3)]
    )
    single = await api.post(
        "/collector/v1/events",
        json=moesif_event(headers={"authorization": f"Bearer {key}"}),
        headers=moesif_headers(collector_token),
    )

    assert batch.status_code == 201 and batch.content == b""
    assert batch.headers["X-Moesif-Config-ETag"] and batch.headers["X-Usage-Accepted"] == "3"
    assert single.status_code == 201 and single.headers["X-Usage-Accepted"] == "1"
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 4


async def test_gzipped_batch_with_resent_and_bad_events_keeps_the_good_ones(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    collector_token: str,
    catalog: dict[str, Any],
    services: Services,
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    resent = moesif_event(user_id=alice.id)
    events = [
        resent,
        moesif_event(user_id=alice.id),
        {"request": {"uri": "/x"}},  # no time or verb
        moesif_event(user_id=alice.id, time=now() - timedelta(days=5)),
        moesif_event(user_id=alice.id, transaction_id=None),
    ]

    first = await post_batch(api, collector_token, events, gzipped=True)
    again = await post_batch(api, collector_token, [resent], gzipped=True)

    assert first.status_code == 201
    assert (first.headers["X-Usage-Accepted"], first.headers["X-Usage-Rejected"]) == ("3", "2")
    assert again.status_code == 201 and again.headers["X-Usage-Duplicates"] == "1"
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 3


async def test_bodies_that_are_not_json_or_not_gzip_are_400(
    api: httpx.AsyncClient, collector_token: str
) -> None:
    not_json = await api.post(
        "/collector/v1/events/batch", content=b"[{", headers=moesif_headers(collector_token)
    )
    not_gzip = await api.post(
        "/collector/v1/events/batch",
        content=b"plain",
        headers=moesif_headers(collector_token, **{"Content-Encoding": "gzip"}),
    )
    not_a_list = await api.post(
        "/collector/v1/events/batch", json={"a": 1}, headers=moesif_headers(collector_token)
    )

    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"
    assert not_gzip.status_code == 400 and "gzip" in not_gzip.json()["error"]["message"]
    assert not_a_list.status_code == 422 and not_a_list.json()["error"]["code"] == "invalid_batch"


async def test_config_and_rules_answer_like_moesif(api: httpx.AsyncClient, collector_token: str) -> None:
    config = await api.get("/collector/v1/config", headers=moesif_headers(collector_token))
    rules = await api.get("/collector/v1/rules", headers=moesif_headers(collector_token))

    assert config.status_code == 200 and config.json()["sample_rate"] == 100
    assert config.json()["user_sample_rate"] == {} and config.json()["regex_config"] == []
    assert len(config.headers["X-Moesif-Config-ETag"]) >= 16
    assert rules.status_code == 200 and rules.json() == []


async def test_user_and_company_profiles_map_moesif_ids_to_portal_users(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    bob: Member,
    collector_token: str,
    catalog: dict[str, Any],
    db_session: AsyncSession,
    services: Services,
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    await mirror_subscription(services, bob, meter["stripe_price_id"])
    db_session.add(Customer(user_id=bob.id, stripe_customer_id="cus_bob", email=bob.email))
    await db_session.commit()
    headers = moesif_headers(collector_token)
    users = await api.post(
        "/collector/v1/users/batch",
        json=[{"user_id": 12345, "metadata": {"email": "Alice@Example.com"}}, {"user_id": "ghost"}],
        headers=headers,
    )
    company = await api.post(
        "/collector/v1/companies",
        json={"company_id": "acme", "metadata": {"stripe_customer_id": "cus_bob"}},
        headers=headers,
    )
    bad_user = await api.post("/collector/v1/users", json={"metadata": {}}, headers=headers)

    await post_batch(
        api,
        collector_token,
        [
            moesif_event(user_id=12345),
            moesif_event(company_id="acme"),
            moesif_event(company_id="cus_bob"),
            moesif_event(user_id="ghost"),
        ],
    )

    assert users.status_code == 201 and company.status_code == 201
    assert bad_user.status_code == 422 and bad_user.json()["error"]["code"] == "invalid_user"
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 1
    assert meter_usage(await usage(api, bob), meter["id"])["period_value"] == 2
    rows = (await db_session.execute(select(UsageEvent))).scalars().all()
    assert sorted((r.external_user_id or r.company_id, r.attributed_by) for r in rows) == [
        ("12345", "user_id"),
        ("acme", "company_id"),
        ("cus_bob", "company_id"),
        ("ghost", None),
    ]


async def test_stored_moesif_events_keep_headers_and_metadata_but_no_secrets(
    api: httpx.AsyncClient, alice: Member, collector_token: str, db_session: AsyncSession
) -> None:
    key = await new_key_secret(api, alice)
    event = moesif_event(
        headers={"X-Api-Key": key, "Cookie": "session=abc", "X-Tier": "gold"},
        metadata={"tokens": 5},
        session_token="secret-session",
    )

    await post_batch(api, collector_token, [event])

    row = (await db_session.execute(select(UsageEvent))).scalar_one()
    payload = json.loads(row.payload)
    assert row.user_id == alice.id and row.route == "/v1/items/1" and row.status == 200
    assert payload["request_headers"]["x-tier"] == "gold" and payload["metadata"] == {"tokens": 5}
    assert key not in row.payload and "session=abc" not in row.payload and "secret-session" not in row.payload
    assert row.session_key and row.session_key != "secret-session"


async def test_header_and_metadata_filters_apply_to_moesif_events(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    collector_token: str,
    catalog: dict[str, Any],
    services: Services,
) -> None:
    meter = await create_meter(
        api,
        admin,
        catalog["prices"]["payg"],
        filters={
            "and": [
                {"field": "request.headers.X-Tier", "value": "gold"},
                {
                    "or": [
                        {"field": "metadata.model", "value": "large"},
                        {"field": "response.headers.x-cache", "value": "MISS"},
                    ]
                },
            ]
        },
        metric={"type": "sum", "field": "metadata.tokens"},
    )
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    events = [
        moesif_event(
            user_id=alice.id, headers={"x-tier": "gold"}, metadata={"model": "large", "tokens": 100}
        ),
        moesif_event(user_id=alice.id, headers={"x-tier": "gold"}, metadata={"model": "small", "tokens": 10}),
        moesif_event(
            user_id=alice.id,
            headers={"x-tier": "gold"},
            metadata={"model": "small", "tokens": 7},
            response_headers={"x-cache": "MISS"},
        ),
        moesif_event(
            user_id=alice.id, headers={"x-tier": "free"}, metadata={"model": "large", "tokens": 1000}
        ),
    ]

    await post_batch(api, collector_token, events)

    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 107
