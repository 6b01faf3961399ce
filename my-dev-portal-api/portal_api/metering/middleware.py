"""ASGI middleware a provider adds to its own API: verifies customer keys and meters every call.

    from portal_api.metering.middleware import UsageMeteringMiddleware
    app.add_middleware(UsageMeteringMiddleware, api_url="https://portal-api.example.com",
                       admin_token=os.environ["PORTAL_ADMIN_TOKEN"])

Each request's key (`X-Api-Key` or `Authorization: Bearer mdp_...`) is checked with
`POST {api_url}/v1/keys/verify` (answers cached for `cache_seconds`); a missing, unknown, revoked or expired
key gets a 401 JSON error, a key whose subscription does not allow calls a 402. Calls that go through are
queued and sent in batches to `POST {api_url}/v1/usage/events` by a background task (every
`flush_interval` seconds or `batch_size` events), retried with backoff on failure; each event carries a
random id, so a retried batch is counted once. It depends only on httpx and the ASGI spec, so it can be
copied into a provider's code base as is.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Reasons from /v1/keys/verify that mean "the key is fine, the subscription is not": 402, not 401.
PAYMENT_REASONS = frozenset({"no_subscription", "subscription_inactive", "past_due_grace_expired"})


@dataclass(frozen=True)
class KeyVerdict:
    valid: bool
    reason: str | None
    key_id: str | None = None
    customer_id: str | None = None


class UsageMeteringMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        api_url: str,
        admin_token: str,
        key_header: str = "X-Api-Key",
        cache_seconds: float = 30.0,
        cache_size: int = 10_000,
        batch_size: int = 200,
        flush_interval: float = 1.0,
        max_queue: int = 100_000,
        exclude_paths: tuple[str, ...] = ("/health", "/healthz", "/docs", "/openapi.json", "/redoc"),
        fail_open: bool = False,
        timeout: float = 5.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.app = app
        self.api_url = api_url.rstrip("/")
        self.key_header = key_header.lower().encode()
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.exclude_paths = exclude_paths
        self.fail_open = fail_open
        self._headers = {"Authorization": f"Bearer {admin_token}"}
        self._client = http_client
        self._own_client = http_client is None
        self._timeout = timeout
        self._cache: OrderedDict[str, tuple[KeyVerdict, float]] = OrderedDict()
        self._queue: deque[dict[str, Any]] = deque(maxlen=max_queue)
        self._flusher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.dropped = 0
        self.sent = 0

    # -- ASGI -----------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if scope["type"] != "http" or scope.get("path", "").startswith(self.exclude_paths):
            await self.app(scope, receive, send)
            return
        key = self._key_from(scope)
        if not key:
            await _json(send, 401, "missing_api_key", "Send your API key in the X-Api-Key header")
            return
        try:
            verdict = await self.verify(key)
        except httpx.HTTPError as exc:
            logger.warning("key verification unavailable: %s", exc)
            if not self.fail_open:
                await _json(
                    send, 503, "verification_unavailable", "The API key could not be checked; try again"
                )
                return
            verdict = KeyVerdict(valid=True, reason=None)
        if not verdict.valid:
            if verdict.reason in PAYMENT_REASONS:
                await _json(
                    send, 402, "payment_required", f"The subscription does not allow calls ({verdict.reason})"
                )
            else:
                await _json(send, 401, "invalid_api_key", f"The API key is not valid ({verdict.reason})")
            return

        started = datetime.now(UTC)
        status: dict[str, int] = {}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self.record(scope, key, status.get("code", 500), started)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def on_receive() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.aclose()
            return message

        await self.app(scope, on_receive, send)

    def _key_from(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", ()):
            if name == self.key_header and value.strip():
                return str(value.decode("latin-1").strip())
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and token.strip().startswith("mdp_"):
                    return token.strip()
        return None

    # -- verification ---------------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        return self._client

    async def verify(self, key: str) -> KeyVerdict:
        cache_key = hashlib.sha256(key.encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(cache_key)
        if cached and cached[1] > now:
            return cached[0]
        response = await self._http().post(
            f"{self.api_url}/v1/keys/verify", json={"key": key}, headers=self._headers
        )
        response.raise_for_status()
        body = response.json()
        verdict = KeyVerdict(
            valid=bool(body.get("valid")),
            reason=body.get("reason"),
            key_id=body.get("key_id"),
            customer_id=body.get("customer_id"),
        )
        # Negative answers are kept shorter, so a customer who just paid is let in quickly.
        ttl = self.cache_seconds if verdict.valid else min(self.cache_seconds, 5.0)
        self._cache[cache_key] = (verdict, now + ttl)
        self._cache.move_to_end(cache_key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return verdict

    # -- usage events ---------------------------------------------------------------------------------

    def record(self, scope: Scope, key: str, status: int, started: datetime) -> None:
        route = scope.get("route")
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1  # the deque drops the oldest event
        self._queue.append(
            {
                "id": uuid.uuid4().hex,
                "key": key,
                "route": template or scope.get("path", "/"),
                "method": scope.get("method", "GET"),
                "status": status,
                "timestamp": started.isoformat(),
            }
        )
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    async def _flush_forever(self) -> None:
        backoff = self.flush_interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)
            self._wake.clear()
            try:
                await self.flush()
                backoff = self.flush_interval
            except (httpx.HTTPError, ValueError) as exc:
                backoff = min(max(backoff * 2, self.flush_interval), 60.0)
                logger.warning("sending usage events failed, retrying in %.1fs: %s", backoff, exc)

    async def flush(self) -> int:
        """Send everything queued now; on failure the batch goes back to the front of the queue."""
        sent = 0
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
            try:
                response = await self._http().post(
                    f"{self.api_url}/v1/usage/events", json={"events": batch}, headers=self._headers
                )
                response.raise_for_status()
            except Exception:
                self._queue.extendleft(reversed(batch))
                raise
            sent += len(batch)
            self.sent += len(batch)
        return sent

    async def aclose(self) -> None:
        """Send what is queued (best effort) and stop; called on lifespan shutdown."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        try:
            await self.flush()
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("could not send %d queued usage events at shutdown: %s", len(self._queue), exc)
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None


async def _json(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
