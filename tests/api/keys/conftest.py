"""Key tests' fixtures: the bootstrap admin API token, subscription rows written directly.

Members (`alice`, `bob`), `new_key` and `verify_key` are shared: tests/fixtures/members.py and keys.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing.models import Subscription
from portal_api.config import Settings
from portal_api.db import new_id, utcnow
from tests.fixtures.members import ADMIN_TOKEN, Member


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(admin_bootstrap_token=ADMIN_TOKEN)


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
