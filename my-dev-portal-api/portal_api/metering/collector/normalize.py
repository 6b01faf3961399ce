"""Turn Moesif events into normalized events (or per-event rejections)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError

from portal_api.metering.collector.schemas import MoesifEvent
from portal_api.metering.events import (
    NormalizedEvent,
    api_key_in,
    digest,
    lower_headers,
    redact_headers,
    route_of,
)
from portal_api.metering.ingest import Rejection, reject_unusable


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts)


def normalize_moesif_event(index: int, raw: Any, key_header: str) -> NormalizedEvent | Rejection:
    if (unusable := reject_unusable(index, raw)) is not None:
        return unusable
    try:
        event = MoesifEvent.model_validate(raw)
    except ValidationError as exc:
        return Rejection(index, "invalid_event", describe(exc))
    request = event.request
    headers = lower_headers(request.headers)
    response_headers = lower_headers(event.response.headers if event.response else None)
    transaction = event.transaction_id or headers.get("x-moesif-transaction-id")
    if isinstance(transaction, str) and 0 < len(transaction) <= 200:
        dedupe_key = f"moesif:{transaction}"
    else:
        # Without a transaction id an event cannot be told apart from a genuine repeat: never deduped.
        dedupe_key = f"moesif-gen:{uuid.uuid4()}"
    extra: dict[str, Any] = {}
    for name in ("ip_address", "api_version"):
        value = getattr(request, name)
        if value:
            extra[name] = value
    if event.direction:
        extra["direction"] = event.direction
    if event.tags:
        extra["tags"] = event.tags
    return NormalizedEvent(
        index=index,
        dedupe_key=dedupe_key,
        source="moesif",
        occurred_at=request.time,
        method=request.verb.upper(),
        route=route_of(request.uri),
        status=event.response.status if event.response else None,
        weight=event.weight if event.weight is not None else 1,
        external_user_id=event.user_id,
        company_id=event.company_id,
        session_key=digest(event.session_token) if event.session_token else None,
        api_key_secret=api_key_in(headers, key_header),
        request_headers=redact_headers(headers, key_header),
        response_headers=redact_headers(response_headers, key_header),
        metadata=event.metadata or {},
        extra=extra,
    )
