"""The HttpOnly session cookie: its attributes, reading it from a Cookie header, and the one-time hand-off.

The API session token never reaches page JavaScript. After a login the Reflex backend keeps the token here
for a few seconds under a one-time code; the browser takes the code to `/_session/establish`
(session_routes.py), whose response sets the token as an HttpOnly cookie. The browser then sends that
cookie with the websocket handshake, and AuthState reads it from `router.headers.cookie` on every event.

A code is bound to the browser that asked for it: the `portal_browser` cookie (HttpOnly too, set on the
first page the portal serves) must be the same when the code is redeemed, so a code a script copies out of
the page is useless anywhere else, and nobody can sign a victim into the attacker's account with one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import threading
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from starlette.requests import cookie_parser

from my_dev_portal.config import get_settings

# The API session token (HttpOnly). A new name: the old `portal_session` was a script-readable rx.Cookie.
SESSION_COOKIE = "portal_auth"
# A random id of this browser (HttpOnly) that hand-off codes are bound to; not a credential on its own.
BROWSER_COOKIE = "portal_browser"
# The script-readable cookie of earlier versions; portal pages delete it (session_routes.py).
LEGACY_SESSION_COOKIE = "portal_session"
# Seconds between the login event and the browser's request to /_session/establish: a redirect or two.
HANDOFF_SECONDS = 15.0


def portal_is_https() -> bool:
    return get_settings().PORTAL_URL.lower().startswith("https://")


def cookie_attributes() -> dict[str, Any]:
    """Starlette `set_cookie`/`delete_cookie` keywords shared by both cookies (SameSite is per cookie)."""
    return {"path": "/", "httponly": True, "secure": portal_is_https()}


def cookie_from_header(header: str, name: str) -> str:
    """The value of cookie `name` in a `Cookie:` request header, "" when absent."""
    return cookie_parser(header).get(name, "") if header else ""


def fingerprint(value: str) -> str:
    """What the state keeps to recognise a token or browser id without holding it."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Handoff:
    """A session token waiting for its browser at /_session/establish."""

    token: str
    # fingerprint() of the browser's BROWSER_COOKIE when the code was issued.
    browser: str
    # When the API session ends: the cookie's Max-Age.
    session_expires_at: datetime

    def belongs_to(self, browser_cookie: str) -> bool:
        return bool(browser_cookie) and secrets.compare_digest(self.browser, fingerprint(browser_cookie))

    def max_age(self, now: datetime | None = None) -> int:
        expires = self.session_expires_at
        if expires.tzinfo is None:  # the API answers in UTC
            expires = expires.replace(tzinfo=UTC)
        remaining = expires - (now or datetime.now(UTC))
        return max(0, int(remaining.total_seconds()))

    def dumps(self) -> str:
        return json.dumps(
            {"token": self.token, "browser": self.browser, "expires": self.session_expires_at.isoformat()}
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> Handoff:
        data = json.loads(raw)
        return cls(data["token"], data["browser"], datetime.fromisoformat(data["expires"]))


class HandoffStore(Protocol):
    """Codes -> hand-offs, each redeemable once and only for HANDOFF_SECONDS."""

    async def put(self, code: str, handoff: Handoff) -> None: ...
    async def take(self, code: str) -> Handoff | None: ...


class MemoryHandoffs:
    """In this process: enough while Reflex runs one backend worker (it does unless Redis is configured)."""

    def __init__(self, ttl: float = HANDOFF_SECONDS) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[float, Handoff]] = {}
        # Event handlers and the establish route may run on different threads of the server.
        self._lock = threading.Lock()

    async def put(self, code: str, handoff: Handoff) -> None:
        now = time.monotonic()
        with self._lock:
            # Codes nobody came for go as new ones arrive, so the table never grows past a few seconds' worth.
            for stale in [key for key, (deadline, _) in self._entries.items() if deadline <= now]:
                del self._entries[stale]
            self._entries[code] = (now + self._ttl, handoff)

    async def take(self, code: str) -> Handoff | None:
        with self._lock:
            entry = self._entries.pop(code, None)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]


class RedisHandoffs:
    """In Reflex's Redis: with Redis, Reflex runs several workers and a code may come back to another one."""

    def __init__(self, redis: Any, ttl: float = HANDOFF_SECONDS) -> None:
        self._redis = redis
        self._ttl_ms = int(ttl * 1000)

    @staticmethod
    def _key(code: str) -> str:
        return f"my_dev_portal:session_handoff:{fingerprint(code)}"

    async def put(self, code: str, handoff: Handoff) -> None:
        await self._redis.set(self._key(code), handoff.dumps(), px=self._ttl_ms)

    async def take(self, code: str) -> Handoff | None:
        # GETDEL: read and delete in one step, so two requests cannot both redeem the code.
        raw = await self._redis.getdel(self._key(code))
        return Handoff.loads(raw) if raw else None


@lru_cache
def handoffs() -> HandoffStore:
    """The process's hand-off store: Reflex's Redis when it has one, else memory."""
    from reflex.utils import prerequisites

    redis = prerequisites.get_redis()
    return RedisHandoffs(redis) if redis is not None else MemoryHandoffs()


async def hand_off(token: str, *, browser_cookie: str, session_expires_at: datetime) -> str:
    """Keep `token` for the browser holding `browser_cookie`; returns the one-time code it redeems it with."""
    code = secrets.token_urlsafe(32)
    await handoffs().put(code, Handoff(token, fingerprint(browser_cookie), session_expires_at))
    return code
