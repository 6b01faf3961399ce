"""Attribution: which portal user (customer) an event is billed to.

In order: the API key the call was made with (keyed hash -> api_keys), then the event's user id (a portal
user id, a portal user's email, or a mapping made through POST /collector/v1/users), then its company id
(a Stripe customer id on customers.stripe_customer_id, or a mapping made through /collector/v1/companies).
Lookups are done once per batch with IN queries; API key hashes are cached briefly in-process.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.models import User
from portal_api.billing.models import Customer
from portal_api.config import Settings
from portal_api.keys.models import ApiKey
from portal_api.keys.service import hash_key
from portal_api.metering.events import NormalizedEvent
from portal_api.metering.models import CollectorCompany, CollectorUser

KEY_CACHE_SECONDS = 60.0
KEY_CACHE_SIZE = 100_000
# key hash -> (api key id, user id, cached at); keys never change owner, so a short cache is safe.
_key_cache: dict[str, tuple[str, str, float]] = {}


async def _keys_by_hash(session: AsyncSession, hashes: set[str]) -> dict[str, tuple[str, str]]:
    now = time.monotonic()
    found: dict[str, tuple[str, str]] = {}
    missing = set()
    for key_hash in hashes:
        cached = _key_cache.get(key_hash)
        if cached and now - cached[2] < KEY_CACHE_SECONDS:
            found[key_hash] = (cached[0], cached[1])
        else:
            missing.add(key_hash)
    if missing:
        rows = await session.execute(
            select(ApiKey.key_hash, ApiKey.id, ApiKey.user_id).where(ApiKey.key_hash.in_(missing))
        )
        if len(_key_cache) > KEY_CACHE_SIZE:
            _key_cache.clear()
        for key_hash, key_id, user_id in rows.all():
            found[key_hash] = (key_id, user_id)
            _key_cache[key_hash] = (key_id, user_id, now)
    return found


async def _users_by_external_id(session: AsyncSession, external_ids: set[str]) -> dict[str, str]:
    """External user id -> portal user id, through our ids, emails and collector user mappings."""
    resolved: dict[str, str] = {}
    if not external_ids:
        return resolved
    ids = list(external_ids)
    for user_id in (await session.execute(select(User.id).where(User.id.in_(ids)))).scalars():
        resolved[user_id] = user_id
    emails = {value.strip().lower(): value for value in ids if "@" in value and value not in resolved}
    if emails:
        for user_id, email in (
            await session.execute(select(User.id, User.email).where(User.email.in_(list(emails))))
        ).all():
            resolved[emails[email]] = user_id
    rest = [value for value in ids if value not in resolved]
    if rest:
        mapped = await session.execute(
            select(CollectorUser.external_user_id, CollectorUser.portal_user_id, User.id)
            .outerjoin(User, User.email == CollectorUser.email)
            .where(CollectorUser.external_user_id.in_(rest))
        )
        for external_id, portal_user_id, email_user_id in mapped.all():
            if portal_user_id or email_user_id:
                resolved[external_id] = portal_user_id or email_user_id
    return resolved


async def _users_by_company(session: AsyncSession, company_ids: set[str]) -> dict[str, str]:
    resolved: dict[str, str] = {}
    if not company_ids:
        return resolved
    ids = list(company_ids)
    for stripe_id, user_id in (
        await session.execute(
            select(Customer.stripe_customer_id, Customer.user_id).where(Customer.stripe_customer_id.in_(ids))
        )
    ).all():
        resolved[stripe_id] = user_id
    rest = [value for value in ids if value not in resolved]
    if rest:
        mapped = await session.execute(
            select(CollectorCompany.company_id, CollectorCompany.portal_user_id, User.id)
            .outerjoin(User, User.email == CollectorCompany.email)
            .where(CollectorCompany.company_id.in_(rest))
        )
        for company_id, portal_user_id, email_user_id in mapped.all():
            if portal_user_id or email_user_id:
                resolved[company_id] = portal_user_id or email_user_id
    return resolved


async def attribute(session: AsyncSession, settings: Settings, events: Sequence[NormalizedEvent]) -> None:
    """Set user_id / attributed_by / api_key_id on each event in place (None when unattributable)."""
    hashes: dict[int, str] = {}
    for position, event in enumerate(events):
        if event.api_key_secret:
            hashes[position] = hash_key(settings, event.api_key_secret)
    keys = await _keys_by_hash(session, set(hashes.values()))
    external = {
        e.external_user_id for i, e in enumerate(events) if e.external_user_id and hashes.get(i) not in keys
    }
    users = await _users_by_external_id(session, external)
    companies_needed = {
        e.company_id
        for i, e in enumerate(events)
        if e.company_id and hashes.get(i) not in keys and e.external_user_id not in users
    }
    companies = await _users_by_company(session, companies_needed)
    for position, event in enumerate(events):
        key = keys.get(hashes.get(position, ""))
        if key is not None:
            event.api_key_id, event.user_id, event.attributed_by = key[0], key[1], "api_key"
        elif event.external_user_id and event.external_user_id in users:
            event.user_id, event.attributed_by = users[event.external_user_id], "user_id"
        elif event.company_id and event.company_id in companies:
            event.user_id, event.attributed_by = companies[event.company_id], "company_id"
        event.api_key_secret = None  # the raw key is not needed (nor kept) past this point
