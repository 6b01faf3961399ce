"""Sending one ledger row to Stripe (usage record or meter event) and classifying what came back.

The row carries the exact path, params and idempotency key, so every attempt is the same request. Calls go
through `StripeGateway.raw` (legacy usage records are no longer wrapped by the SDK); its PortalErrors keep the
SDK error as `__cause__`, read here for the HTTP status and the parameter Stripe complained about.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from portal_api.errors import Conflict, NotFound, PortalError, UpstreamError
from portal_api.stripe_client import StripeAuthFailed, StripeGateway

Verdict = Literal["sent", "retry", "rejected", "auth_failed"]


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    error: str | None = None
    stripe_object_id: str | None = None
    http_status: int | None = None
    param: str | None = None
    # Rate limited: back off longer than for a 5xx.
    throttled: bool = False


def _cause(exc: BaseException) -> tuple[int | None, str | None, str | None, str]:
    cause = exc.__cause__
    status = getattr(cause, "http_status", None)
    param = getattr(cause, "param", None)
    code = getattr(cause, "code", None)
    message = getattr(cause, "user_message", None) or getattr(exc, "message", None) or str(exc)
    return status, param, code, str(message)


def classify(exc: BaseException, kind: str) -> Outcome:
    """What a failed attempt means: retry with the same key, rejected for good, or already delivered."""
    if isinstance(exc, StripeAuthFailed):
        return Outcome("auth_failed", exc.message)
    status, param, code, message = _cause(exc)
    if isinstance(exc, UpstreamError):  # 5xx, timeout, connection error, rate limit
        return Outcome("retry", message, http_status=status, throttled=status == 429)
    if isinstance(exc, Conflict):
        if status == 409:  # the same key is still being processed by Stripe
            return Outcome("retry", message, http_status=status)
        # The key was used with other parameters: never re-send under another key automatically.
        return Outcome(
            "rejected", f"idempotency key reused with other parameters: {message}", http_status=status
        )
    if kind == "meter_event" and param == "identifier":
        # Stripe already has an event with this identifier: an earlier attempt got through.
        return Outcome("sent", None, http_status=status, param=param)
    if isinstance(exc, NotFound):
        return Outcome("rejected", message, http_status=status or 404, param=param)
    if isinstance(exc, PortalError):
        return Outcome("rejected", message, http_status=status or exc.status, param=param or code)
    return Outcome("retry", f"{type(exc).__name__}: {exc}")


async def send_report(
    gateway: StripeGateway, kind: str, path: str, params: str, idempotency_key: str
) -> Outcome:
    """One attempt at one ledger row."""
    body: dict[str, Any] = json.loads(params)
    try:
        result = await gateway.raw("post", path, body, idempotency_key=idempotency_key)
    except Exception as exc:  # classified: nothing may escape and stop the other sends
        return classify(exc, kind)
    object_id = result.get("id") or result.get("identifier")
    return Outcome("sent", stripe_object_id=str(object_id) if object_id else None)
