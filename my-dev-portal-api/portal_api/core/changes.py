"""The change feed: features announce what changed, caches listening in this process drop what it affects.

A cross-feature need (billing telling key verification to forget a user's cached subscription) goes through
this feed rather than an import between features. The writer announces on its session; the feed delivers at
once (so this process stops serving the old state) and again after the session commits (so a read racing
the commit cannot cache the state from before it). Sessions find the feed in `session.info`, where the
database's session factories put it. With a relay (core/change_relay.py: PostgreSQL LISTEN/NOTIFY, or Redis
pub/sub when REDIS_URL is set) committed changes also reach every other process, which apply them within
moments.

Topics and their values:
    user              a user id: the user's customer, subscription or keys changed
    key               an API key's keyed hash: revoked or rotated
    all_keys          "" : bulk changes (a reconciliation run)
    admin_tokens      "" : an admin token was revoked or its scopes changed
    billing_provider  "" : the Stripe configuration was saved
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Literal, Protocol

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger(__name__)

Topic = Literal["user", "key", "all_keys", "admin_tokens", "billing_provider"]
Listener = Callable[[str], None]
SESSION_INFO_KEY = "change_feed"


class Relay(Protocol):
    """Carries committed changes to the other processes (see core/change_relay.py)."""

    def send(self, topic: Topic, value: str) -> None: ...


class ChangeFeed:
    """Synchronous in-process fan-out of (topic, value) to listeners, which must be quick."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._lock = threading.Lock()
        self.relay: Relay | None = None

    def subscribe(self, topic: Topic, listener: Listener) -> None:
        with self._lock:
            self._listeners[topic].append(listener)

    def publish(self, topic: Topic, value: str = "", *, share: bool = False) -> None:
        """Deliver to this process's listeners; `share` also sends it to the other processes (the change
        is committed)."""
        if share and self.relay is not None:
            self.relay.send(topic, value)
        self.deliver(topic, value)

    def deliver(self, topic: Topic, value: str = "") -> None:
        """Deliver to this process's listeners only (what the relay calls for other processes' changes)."""
        with self._lock:
            listeners = list(self._listeners.get(topic, ()))
        for listener in listeners:
            try:
                listener(value)
            except Exception:
                log.exception("change_listener_failed", topic=topic)


def announce(session: AsyncSession, topic: Topic, value: str = "") -> None:
    """Tell listeners now that `value` changed, and again once `session` commits the change."""
    feed = session.info.get(SESSION_INFO_KEY)
    if not isinstance(feed, ChangeFeed):
        return  # a session made outside the app's Database (a migration, a test's raw session)
    feed.publish(topic, value)
    event.listen(
        session.sync_session, "after_commit", lambda _s: feed.publish(topic, value, share=True), once=True
    )
