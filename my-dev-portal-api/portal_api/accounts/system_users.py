"""System users: rows in `users` that belong to no one, such as the Meter Test's own customer.

The Meter Test sends its synthetic API call as the meter-test customer (a fixed id, so it never collides with
the random `usr_` + 24 hex ids of people): its Stripe test-mode customer and subscriptions are mirrored under
this user like anybody's, its usage is its own, and it is left out wherever customers are people: the
console's customer list, attribution of real traffic (see metering/attribution.py), the hourly report and
reconciliation. Nobody can sign in as it: its email is in the reserved `.invalid` domain, which sign-up and
login refuse, and its password hash is no hash at all.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.models import User

METER_TEST_USER_ID = "usr_meter_test"
METER_TEST_EMAIL = "meter-test@portal.invalid"
METER_TEST_NAME = "Meter Test (system customer)"
# Not an argon2 hash: verifying any password against it fails (security.Passwords.verify_now).
NO_LOGIN = "!system-user-no-login"
SYSTEM_USER_IDS = frozenset({METER_TEST_USER_ID})


def is_system_user(user_id: str | None) -> bool:
    return user_id in SYSTEM_USER_IDS


async def ensure_meter_test_user(session: AsyncSession) -> User:
    """The meter-test customer's row, inserted on first need (two racing inserts end with one row)."""
    user = await session.get(User, METER_TEST_USER_ID)
    if user is not None:
        return user
    try:
        async with session.begin_nested():
            user = User(
                id=METER_TEST_USER_ID,
                email=METER_TEST_EMAIL,
                name=METER_TEST_NAME,
                password_hash=NO_LOGIN,
                is_admin=False,
            )
            session.add(user)
    except IntegrityError:
        user = await session.scalar(select(User).where(User.id == METER_TEST_USER_ID))
        if user is None:
            raise
    return user
