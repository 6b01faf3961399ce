"""Key tests' fixtures: signed-up users, a bootstrap admin API token, subscription rows written directly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing.models import Subscription
from portal_api.config import Settings
from portal_api.db import new_id, utcnow

ADMIN_TOKEN = "mdp_admin_" + "k" * 43
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class Member:
    id: str
    email: str
    headers: dict[str, str]


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(admin_bootstrap_token=ADMIN_TOKEN)


async def sign_up(api: httpx.AsyncClient, email: str) -> Member:
    response = await api.post("/v1/auth/signup", json={"email": email, "password": "correct horse battery"})
    assert response.status_code == 201, response.text
    api.cookies.clear()  # every request below says who it is with an explicit bearer token
    body = response.json()
    return Member(id=body["user"]["id"], email=email, headers={"Authorization": f"Bearer {body['token']}"})


@pytest.fixture
async def alice(api: httpx.AsyncClient) -> Member:
    return await sign_up(api, "alice@example.com")


@pytest.fixture
async def bob(api: httpx.AsyncClient) -> Member:
    return await sign_up(api, "bob@example.com")


async def new_key(api: httpx.AsyncClient, member: Member, name: str = "ci", **extra: Any) -> dict[str, Any]:
    response = await api.post("/v1/keys", json={"name": name, **extra}, headers=member.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def verify(api: httpx.AsyncClient, key: str) -> dict[str, Any]:
    response = await api.post("/v1/keys/verify", json={"key": key}, headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def subscribe(
    db_session: AsyncSession,
    member: Member,
    status: str = "active",
    *,
    status_changed_at: datetime | None = None,
    created_at: datetime | None = None,
) -> Subscription:
    subscription = Subscription(
        user_id=member.id,
        stripe_customer_id=f"cus_{member.id[-8:]}",
        stripe_subscription_id=new_id("sub_test"),
        status=status,
        price_id="price_payg",
        plan_nickname="Pay as you go",
        product_name="My API",
        status_changed_at=status_changed_at or utcnow(),
        created_at=created_at or utcnow(),
    )
    db_session.add(subscription)
    await db_session.commit()
    return subscription
