"""Webhook delivery: Stripe-signed POSTs in the background with retries, every attempt recorded."""

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx

from stripe_emulator.ids import new_id
from stripe_emulator.resources.events import render_event
from stripe_emulator.store import Store

log = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS = (0.5, 1.0, 2.0)


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "t.payload")>``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def subscribed(endpoint: dict[str, Any], event_type: str) -> bool:
    events = endpoint["enabled_events"]
    return endpoint["status"] == "enabled" and ("*" in events or event_type in events)


class Dispatcher:
    """Listens to the store's events and delivers them to every matching webhook endpoint."""

    def __init__(self, store: Store, retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS) -> None:
        self.store = store
        self.retry_delays = retry_delays
        self.deliveries: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        store.listeners.append(self.on_event)

    def on_event(self, event: dict[str, Any]) -> None:
        for endpoint in self.store.all("webhook_endpoint"):
            if not subscribed(endpoint, event["type"]):
                continue
            version = endpoint["api_version"] or self.store.api_version
            payload = json.dumps(render_event(self.store, event, version), indent=2)
            event["pending_webhooks"] += 1
            if not endpoint["url"]:
                self._record(endpoint, event, payload, status=None, attempt=1, note="recorded")
                continue
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self._record(endpoint, event, payload, status=None, attempt=0, note="no event loop")
                continue
            task = loop.create_task(self._deliver(endpoint, event, payload))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _record(
        self,
        endpoint: dict[str, Any],
        event: dict[str, Any],
        payload: str,
        *,
        status: int | None,
        attempt: int,
        note: str | None = None,
    ) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(payload, endpoint["_secret"]),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        delivery = {
            "id": new_id("whd"),
            "event_id": event["id"],
            "type": event["type"],
            "endpoint": endpoint["id"],
            "url": endpoint["url"],
            "payload": payload,
            "headers": headers,
            "status": status,
            "attempt": attempt,
            "note": note,
        }
        self.deliveries.append(delivery)
        return delivery

    async def _deliver(self, endpoint: dict[str, Any], event: dict[str, Any], payload: str) -> None:
        client = self._client = self._client or httpx.AsyncClient(timeout=5.0)
        for attempt, delay in enumerate((0.0, *self.retry_delays), start=1):
            if delay:
                await asyncio.sleep(delay)
            delivery = self._record(endpoint, event, payload, status=None, attempt=attempt, note="sending")
            try:
                response = await client.post(endpoint["url"], content=payload, headers=delivery["headers"])
                delivery["status"], delivery["note"] = response.status_code, None
            except httpx.HTTPError as exc:
                delivery["note"] = f"{type(exc).__name__}: {exc}"
            if delivery["status"] is not None and 200 <= delivery["status"] < 300:
                event["pending_webhooks"] = max(0, event["pending_webhooks"] - 1)
                return
        log.warning("webhook %s to %s failed after %d attempts", event["id"], endpoint["url"], attempt)

    async def drain(self, wait_seconds: float = 10.0) -> None:
        """Wait for deliveries in flight (used on shutdown and by tests)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=wait_seconds)

    async def aclose(self) -> None:
        for task in set(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
