"""Attribution: which portal user (customer) an event is billed to.

In order: the API key the call was made with (keyed hash -> api_keys), then the event's user id (a portal
user id, a portal user's email, or a mapping made through POST /collector/v1/users), then its company id
(a Stripe customer id on customers.stripe_customer_id, or a mapping made through /collector/v1/companies).
Lookups are done once per batch with IN queries; API keys through the key verifier's cache (invalidated on
revoke, rotate and subscription changes).

A call made with a key that POST /v1/keys/verify would have refused at the time of the call because of the
key or an ended subscription (revoked, expired, subscription inactive, past_due beyond its grace) is stored
unattributed (`attributed_by = "refused_key"`, the key id kept for the console) and never billed. It does not
fall back to the user or company id: a call the gateway should have refused bills no one. The ingest answer
lists it with the reason. A key of a customer who has not subscribed yet still counts toward their usage
(the dashboard shows it); no one bills it, since there is no subscription item to report it on, and usage
from before a subscription starts is never reported into it.

Only the Meter Test's own events are attributed to a system user (accounts/system_users.py); any other event
naming one (its id, or the Meter Test's Stripe customer as company) stays unattributed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.models import User
from portal_api.accounts.system_users import is_system_user
from portal_api.billing.models import Customer
from portal_api.config import Settings
from portal_api.keys.service import hash_key
from portal_api.keys.verify import (
    EXPIRED,
    PAST_DUE_GRACE_EXPIRED,
    REVOKED,
    SUBSCRIPTION_INACTIVE,
    KeyVerifier,
    judge,
)
from portal_api.metering.events import METER_TEST_SOURCE, NormalizedEvent
from portal_api.metering.models import CollectorCompany, CollectorUser

REFUSED_KEY = "refused_key"
# Verify reasons that make a call bill no one (no_subscription is not one: see the module docstring).
REFUSING_REASONS = frozenset({REVOKED, EXPIRED, SUBSCRIPTION_INACTIVE, PAST_DUE_GRACE_EXPIRED})


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


async def attribute(
    session: AsyncSession, settings: Settings, keys: KeyVerifier, events: Sequence[NormalizedEvent]
) -> dict[int, str]:
    """Set user_id / attributed_by / api_key_id on each event in place (None when unattributable).

    Returns the events (by position) whose key was refused, with the verify reason."""
    hashes: dict[int, str] = {}
    for position, event in enumerate(events):
        if event.api_key_secret:
            hashes[position] = hash_key(settings, event.api_key_secret)
    facts = await keys.facts_for(session, set(hashes.values()))
    known = {key_hash for key_hash, found in facts.items() if found is not None}
    external = {
        e.external_user_id for i, e in enumerate(events) if e.external_user_id and hashes.get(i) not in known
    }
    users = await _users_by_external_id(session, external)
    companies_needed = {
        e.company_id
        for i, e in enumerate(events)
        if e.company_id and hashes.get(i) not in known and e.external_user_id not in users
    }
    companies = await _users_by_company(session, companies_needed)
    refused: dict[int, str] = {}
    for position, event in enumerate(events):
        key = facts.get(hashes.get(position, ""))
        if key is not None:
            verdict = judge(key, now=event.occurred_at, past_due_grace=keys.past_due_grace)
            event.api_key_id = key.key_id
            if verdict.reason in REFUSING_REASONS:
                event.user_id, event.attributed_by = None, REFUSED_KEY
                refused[position] = str(verdict.reason)
            else:
                event.user_id, event.attributed_by = key.user_id, "api_key"
        elif event.external_user_id and event.external_user_id in users:
            event.user_id, event.attributed_by = users[event.external_user_id], "user_id"
        elif event.company_id and event.company_id in companies:
            event.user_id, event.attributed_by = companies[event.company_id], "company_id"
        if is_system_user(event.user_id) and event.source != METER_TEST_SOURCE:
            # Real traffic naming a system user (its id, the Meter Test's Stripe customer) bills no one.
            event.user_id, event.attributed_by = None, None
        event.api_key_secret = None  # the raw key is not needed (nor kept) past this point
    return refused
