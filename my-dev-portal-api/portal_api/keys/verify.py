"""The key verification hot path: shape check, keyed hash, cache or one indexed query, verdict by clock."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing.models import Customer, Subscription
from portal_api.config import Settings
from portal_api.db import Database, utcnow
from portal_api.keys.cache import KeyFacts, KeyVerifyCache
from portal_api.keys.last_used import LastUsedRecorder
from portal_api.keys.models import ApiKey
from portal_api.security import keyed_hash

# mdp_live_/mdp_test_ + secrets.token_urlsafe(32) (43 chars); a little slack for other lengths.
KEY_SHAPE = re.compile(r"mdp_(?:live|test)_[A-Za-z0-9_-]{16,128}")
ACTIVE_STATUSES = frozenset({"active", "trialing"})

# Reasons a key is not valid (the `reason` field of POST /v1/keys/verify).
UNKNOWN_KEY = "unknown_key"
REVOKED = "revoked"
EXPIRED = "expired"
NO_SUBSCRIPTION = "no_subscription"
SUBSCRIPTION_INACTIVE = "subscription_inactive"
PAST_DUE_GRACE_EXPIRED = "past_due_grace_expired"


@dataclass(frozen=True, slots=True)
class Plan:
    price_id: str | None
    nickname: str | None
    product_name: str | None


@dataclass(frozen=True, slots=True)
class Verification:
    valid: bool
    reason: str | None
    key_id: str | None = None
    user_id: str | None = None
    customer_id: str | None = None
    subscription_status: str | None = None
    plan: Plan | None = None


UNKNOWN = Verification(valid=False, reason=UNKNOWN_KEY)

# The most relevant subscription first: active/trialing, then past_due (maybe in grace), then the rest;
# newest first within each group. One row: key by unique hash, subscriptions and customer by indexed user_id.
_RELEVANCE = case(
    (Subscription.status.in_(sorted(ACTIVE_STATUSES)), 0), (Subscription.status == "past_due", 1), else_=2
)
_LOOKUP = (
    select(
        ApiKey.id,
        ApiKey.user_id,
        ApiKey.revoked_at,
        ApiKey.expires_at,
        Customer.stripe_customer_id,
        Subscription.stripe_customer_id,
        Subscription.status,
        Subscription.status_changed_at,
        Subscription.price_id,
        Subscription.plan_nickname,
        Subscription.product_name,
    )
    .outerjoin(Subscription, Subscription.user_id == ApiKey.user_id)
    .outerjoin(Customer, and_(Customer.user_id == ApiKey.user_id, Customer.deleted_at.is_(None)))
    .where(ApiKey.key_hash == bindparam("key_hash"))
    .order_by(_RELEVANCE, Subscription.created_at.desc())
    .limit(1)
)


async def load_facts_many(session: AsyncSession, key_hashes: Collection[str]) -> dict[str, KeyFacts]:
    """Facts for many keys at once (ingest): one query for the keys, one for their owners' subscriptions and
    one for their customers; the same most relevant subscription per owner as `load_facts` picks."""
    if not key_hashes:
        return {}
    keys = (
        await session.execute(
            select(ApiKey.key_hash, ApiKey.id, ApiKey.user_id, ApiKey.revoked_at, ApiKey.expires_at).where(
                ApiKey.key_hash.in_(list(key_hashes))
            )
        )
    ).all()
    user_ids = list({row.user_id for row in keys})
    subscriptions: dict[str, Any] = {}
    if user_ids:
        for row in await session.execute(
            select(
                Subscription.user_id,
                Subscription.stripe_customer_id,
                Subscription.status,
                Subscription.status_changed_at,
                Subscription.price_id,
                Subscription.plan_nickname,
                Subscription.product_name,
            )
            .where(Subscription.user_id.in_(user_ids))
            .order_by(_RELEVANCE, Subscription.created_at.desc())
        ):
            subscriptions.setdefault(row.user_id, row)  # the first per owner is the most relevant
    customers = (
        dict(
            (
                await session.execute(
                    select(Customer.user_id, Customer.stripe_customer_id).where(
                        Customer.user_id.in_(user_ids), Customer.deleted_at.is_(None)
                    )
                )
            ).all()
        )
        if user_ids
        else {}
    )
    found: dict[str, KeyFacts] = {}
    for key_hash, key_id, user_id, revoked_at, expires_at in keys:
        sub = subscriptions.get(user_id)
        found[key_hash] = KeyFacts(
            key_id=key_id,
            user_id=user_id,
            revoked_at=revoked_at,
            expires_at=expires_at,
            customer_id=customers.get(user_id) or (sub.stripe_customer_id if sub else None),
            subscription_status=sub.status if sub else None,
            status_changed_at=sub.status_changed_at if sub else None,
            price_id=sub.price_id if sub else None,
            plan_nickname=sub.plan_nickname if sub else None,
            product_name=sub.product_name if sub else None,
        )
    return found


async def load_facts(session: AsyncSession, key_hash: str) -> KeyFacts | None:
    row = (await session.execute(_LOOKUP, {"key_hash": key_hash})).first()
    if row is None:
        return None
    (key_id, user_id, revoked_at, expires_at, customer_id, sub_customer_id, status, changed_at, *plan) = row
    return KeyFacts(
        key_id=key_id,
        user_id=user_id,
        revoked_at=revoked_at,
        expires_at=expires_at,
        customer_id=customer_id or sub_customer_id,
        subscription_status=status,
        status_changed_at=changed_at,
        price_id=plan[0],
        plan_nickname=plan[1],
        product_name=plan[2],
    )


def judge(facts: KeyFacts | None, *, now: datetime, past_due_grace: timedelta) -> Verification:
    """The verdict for `facts` at `now`: the checks in the order a caller should hear about them.

    `now` may lie in the past (ingest judges a call at the time it was made): a key revoked, or a
    subscription that changed status, only after `now` counts as it was before (the status before the
    last change is not kept, so it is taken as billable: it was what let the call through)."""
    if facts is None:
        return UNKNOWN
    status = facts.subscription_status
    plan = Plan(facts.price_id, facts.plan_nickname, facts.product_name) if status is not None else None

    def verdict(reason: str | None) -> Verification:
        return Verification(
            valid=reason is None,
            reason=reason,
            key_id=facts.key_id,
            user_id=facts.user_id,
            customer_id=facts.customer_id,
            subscription_status=status,
            plan=plan,
        )

    if facts.revoked_at is not None and facts.revoked_at <= now:
        return verdict(REVOKED)
    if facts.expires_at is not None and facts.expires_at <= now:
        return verdict(EXPIRED)
    if status is None:
        return verdict(NO_SUBSCRIPTION)
    changed_later = facts.status_changed_at is not None and facts.status_changed_at > now
    if status in ACTIVE_STATUSES or changed_later:
        return verdict(None)
    if status == "past_due":
        changed_at = facts.status_changed_at
        in_grace = changed_at is not None and now - changed_at < past_due_grace
        return verdict(None if in_grace else PAST_DUE_GRACE_EXPIRED)
    return verdict(SUBSCRIPTION_INACTIVE)


class KeyVerifier:
    """One per process (services.key_verifier): the cache, the last_used recorder, the clock, its sessions.

    Lookups use a short read session of their own (on SQLite: no lock), held only for the one SELECT.
    """

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._secret = settings.secret_key.get_secret_value()
        self._database = database
        self.past_due_grace = timedelta(hours=settings.past_due_grace_hours)
        self.cache = KeyVerifyCache(
            ttl_seconds=settings.key_verify_cache_seconds, max_size=settings.key_verify_cache_size
        )
        self.last_used = LastUsedRecorder()
        self.clock = clock

    def key_hash(self, secret: str) -> str:
        return keyed_hash(self._secret, secret)

    async def verify(self, key: str) -> Verification:
        """Verify an API key string. Never raises for a bad key: a malformed one is simply unknown."""
        key = key.strip()
        if KEY_SHAPE.fullmatch(key) is None:
            return UNKNOWN
        key_hash = self.key_hash(key)
        hit, facts = self.cache.get(key_hash)
        if not hit:
            epoch = self.cache.epoch
            facts = await self._load(key_hash)
            self.cache.put(key_hash, facts, epoch=epoch)
        now = self.clock()
        result = judge(facts, now=now, past_due_grace=self.past_due_grace)
        if result.key_id is not None:  # also for revoked/expired keys: "still in use" is worth showing
            self.last_used.note(result.key_id, now)
        if self.last_used.flush_due():
            await self.flush_last_used()
        return result

    async def facts_for(
        self, session: AsyncSession, key_hashes: Collection[str]
    ) -> dict[str, KeyFacts | None]:
        """Facts for many key hashes (None: no such key): from the cache, the rest in one batch read on
        `session` (the caller's: ingest reads them inside its unit of work), then cached."""
        found: dict[str, KeyFacts | None] = {}
        missing = []
        for key_hash in key_hashes:
            hit, facts = self.cache.get(key_hash)
            if hit:
                found[key_hash] = facts
            else:
                missing.append(key_hash)
        if missing:
            epoch = self.cache.epoch
            loaded = await load_facts_many(session, missing)
            for key_hash in missing:
                facts = loaded.get(key_hash)
                found[key_hash] = facts
                self.cache.put(key_hash, facts, epoch=epoch)
        return found

    async def flush_last_used(self) -> int:
        """Write the waiting last_used_at notes in one statement and commit; returns how many keys."""
        async with self._database.write() as session:
            written = await self.last_used.flush(session)
        return written

    async def _load(self, key_hash: str) -> KeyFacts | None:
        async with self._database.read() as session:
            return await load_facts(session, key_hash)
