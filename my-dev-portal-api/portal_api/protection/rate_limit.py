"""Rate limits on the abuse-prone routes: 429 with Retry-After and the JSON error body once one is used up.

| rule    | routes                                   | counted per                                    |
|---------|------------------------------------------|------------------------------------------------|
| login   | POST /v1/auth/login                      | client IP (see client_ip.py)                   |
| signup  | POST /v1/auth/signup                     | client IP                                      |
| verify  | POST /v1/keys/verify                     | admin API token (client IP when none is sent)  |
| ingest  | POST /v1/usage/events, POST /collector/* | admin / collector token (client IP when none)  |

Limits are `limits` strings from settings (RATE_LIMIT_LOGIN="10/minute;100/hour"), counted with the sliding
window counter strategy in this process (RATE_LIMIT_STORAGE_URI=memory://) or in a shared store given as a
`limits` async storage URI. Tokens are counted under a digest, never stored as such. A storage failure lets
requests through (logged): a broken limiter must not take the API down.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, RateLimiter, SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from portal_api.config import Settings
from portal_api.core.metrics import count_rate_limited
from portal_api.errors import error_body
from portal_api.protection.client_ip import ClientAddresses
from portal_api.protection.rate_limit_storage import LocalMemoryStorage
from portal_api.protection.security_headers import json_response_messages

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = structlog.get_logger(__name__)

COLLECTOR_PREFIX = "/collector/"


def _digest(secret: bytes) -> str:
    return hashlib.blake2b(secret, digest_size=16).hexdigest()


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            return token.strip() or None if scheme.lower() == b"bearer" else None
    return None


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers") or ():
        if name == wanted:
            return value.strip() or None
    return None


KeyFunction = Callable[[Scope, ClientAddresses], str]


def by_client_ip(scope: Scope, clients: ClientAddresses) -> str:
    return "ip:" + clients.of(scope)


def by_bearer_token(scope: Scope, clients: ClientAddresses) -> str:
    token = _bearer(scope)
    return "token:" + _digest(token) if token else by_client_ip(scope, clients)


def by_collector_token(scope: Scope, clients: ClientAddresses) -> str:
    token = _header(scope, b"x-moesif-application-id")
    return "token:" + _digest(token) if token else by_client_ip(scope, clients)


@dataclass(frozen=True)
class Rule:
    name: str
    items: tuple[RateLimitItem, ...]
    key: KeyFunction


def parse_limits(setting_name: str, value: str) -> tuple[RateLimitItem, ...]:
    if not value.strip():
        return ()
    try:
        return tuple(parse_many(value))
    except ValueError:
        raise ValueError(
            f"{setting_name.upper()}={value!r} is not a rate limit (examples: 10/minute, 5/second;100/hour)"
        ) from None


def build_storage(uri: str, redis_url: str = "") -> Storage:
    """The counters' store: RATE_LIMIT_STORAGE_URI, else Redis (shared by every process) when REDIS_URL is
    set, else this process's memory."""
    if uri in ("", "memory://", "portal+memory://"):
        if not redis_url:
            return LocalMemoryStorage()
        uri = redis_url
    if not uri.startswith("async+"):
        uri = "async+" + uri  # the API is async: a shared store must be reached without blocking the loop
    if uri.startswith(("async+redis://", "async+rediss://")):
        # redis-py (installed with the API), not coredis, which `limits` would pick by default.
        return RedisStorage(uri, implementation="redispy")
    storage = storage_from_string(uri)
    if not isinstance(storage, Storage):
        raise ValueError(f"RATE_LIMIT_STORAGE_URI={uri!r} is not an async `limits` storage")
    return storage


def build_limiter(storage: Storage) -> RateLimiter:
    try:
        return SlidingWindowCounterRateLimiter(storage)
    except NotImplementedError:  # e.g. memcached: fixed windows only
        return FixedWindowRateLimiter(storage)


class RateLimits:
    """The rules from settings and the limiter counting them; `check` answers the seconds to wait or None."""

    def __init__(self, settings: Settings, clients: ClientAddresses) -> None:
        self.clients = clients
        login = Rule("login", parse_limits("rate_limit_login", settings.rate_limit_login), by_client_ip)
        signup = Rule("signup", parse_limits("rate_limit_signup", settings.rate_limit_signup), by_client_ip)
        verify = Rule(
            "verify", parse_limits("rate_limit_verify", settings.rate_limit_verify), by_bearer_token
        )
        ingest_items = parse_limits("rate_limit_ingest", settings.rate_limit_ingest)
        self.exact: dict[tuple[str, str], Rule] = {
            ("POST", "/v1/auth/login"): login,
            ("POST", "/v1/auth/signup"): signup,
            ("POST", "/v1/keys/verify"): verify,
            ("POST", "/v1/usage/events"): Rule("ingest", ingest_items, by_bearer_token),
        }
        self.exact = {route: rule for route, rule in self.exact.items() if rule.items}
        self.collector = Rule("ingest", ingest_items, by_collector_token) if ingest_items else None
        self.limiter = build_limiter(build_storage(settings.rate_limit_storage_uri, settings.redis_url))

    def rule_for(self, method: str, path: str) -> Rule | None:
        rule = self.exact.get((method, path))
        if (
            rule is None
            and self.collector is not None
            and method == "POST"
            and path.startswith(COLLECTOR_PREFIX)
        ):
            return self.collector
        return rule

    async def check(self, rule: Rule, scope: Scope) -> int | None:
        """Count this request against `rule`; None when allowed, else the whole seconds until it would be."""
        key = rule.key(scope, self.clients)
        try:
            for item in rule.items:
                if not await self.limiter.hit(item, rule.name, key):
                    stats = await self.limiter.get_window_stats(item, rule.name, key)
                    return max(1, math.ceil(stats.reset_time - time.time()))
        except Exception as exc:
            log.warning("rate_limit_storage_failed", rule=rule.name, error=f"{type(exc).__name__}: {exc}")
        return None


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            rule = self.limits.rule_for(scope["method"], scope["path"])
            if rule is not None:
                retry_after = await self.limits.check(rule, scope)
                if retry_after is not None:
                    count_rate_limited(rule.name)
                    body = error_body(
                        "rate_limited",
                        f"Too many requests; try again in {retry_after} s",
                        retry_after=retry_after,
                    )
                    headers = [(b"retry-after", str(retry_after).encode())]
                    for message in json_response_messages(429, body, extra_headers=headers):
                        await send(message)
                    return
        await self.app(scope, receive, send)
