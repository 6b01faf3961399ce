"""The ingest pipeline shared by the Moesif collector and /v1/usage/events.

validate -> lateness window -> in-batch dedupe -> attribution -> insert with dedupe -> rollups of the rows
that were really inserted, all inside the caller's transaction: a resent event is acknowledged as a
duplicate and counted once, and one bad event never drops the good ones around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.config import Settings
from portal_api.core.metrics import count_usage_events
from portal_api.db import utcnow
from portal_api.metering.attribution import attribute
from portal_api.metering.events import NormalizedEvent
from portal_api.metering.meters.rebuild import active_compiled_meters, lock_meters_shared
from portal_api.metering.rollups import RollupBatch
from portal_api.metering.store import store_for
from portal_api.protection.json_limits import MAX_JSON_DEPTH, json_problem

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Rejection:
    index: int
    code: str
    message: str


def reject_unusable(index: int, raw: Any) -> Rejection | None:
    """The checks every event format shares before its own schema: an object, no U+0000 anywhere
    (PostgreSQL text cannot hold it, so one such event would fail the whole batch's insert), and nesting
    within MAX_JSON_DEPTH (an event's depth counts from the event object)."""
    if not isinstance(raw, dict):
        return Rejection(index, "invalid_event", "each event must be a JSON object")
    problem = json_problem(raw)
    if problem == "nul":
        return Rejection(index, "invalid_event", "text must not contain NUL (U+0000) characters")
    if problem == "too_deep":
        return Rejection(index, "json_too_deep", f"the event nests deeper than {MAX_JSON_DEPTH} levels")
    return None


@dataclass
class IngestResult:
    received: int = 0
    accepted: int = 0
    duplicates: list[int] = field(default_factory=list)
    unattributed: list[int] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def event_row(event: NormalizedEvent, received_at: datetime) -> dict[str, Any]:
    return {
        "dedupe_key": event.dedupe_key,
        "source": event.source,
        "occurred_at": event.occurred_at,
        "received_at": received_at,
        "user_id": event.user_id,
        "attributed_by": event.attributed_by,
        "api_key_id": event.api_key_id,
        "external_user_id": event.external_user_id,
        "company_id": event.company_id,
        "session_key": event.session_key,
        "method": event.method,
        "route": event.route,
        "status": event.status,
        "weight": event.weight,
        "payload": event.payload_json(),
    }


async def ingest(
    session: AsyncSession,
    settings: Settings,
    events: list[NormalizedEvent],
    rejected: list[Rejection],
    *,
    received: int,
    now: datetime | None = None,
) -> IngestResult:
    """Store `events` (already validated; `rejected` are the ones that were not) and update rollups."""
    now = now or utcnow()
    result = IngestResult(received=received, rejected=list(rejected))
    oldest = now - timedelta(hours=settings.usage_lateness_hours)
    newest = now + timedelta(minutes=settings.usage_max_future_minutes)

    fresh: list[NormalizedEvent] = []
    seen: set[str] = set()
    for event in events:
        if event.occurred_at < oldest:
            result.rejected.append(
                Rejection(
                    event.index,
                    "too_late",
                    f"event time {event.occurred_at.isoformat()} is older than the "
                    f"{settings.usage_lateness_hours:g} h lateness window",
                )
            )
        elif event.occurred_at > newest:
            result.rejected.append(
                Rejection(
                    event.index,
                    "in_future",
                    f"event time {event.occurred_at.isoformat()} is more than "
                    f"{settings.usage_max_future_minutes:g} min in the future",
                )
            )
        elif event.dedupe_key in seen:
            result.duplicates.append(event.index)
        else:
            seen.add(event.dedupe_key)
            fresh.append(event)

    if fresh:
        # A shared lock against meter changes: a meter create/edit (exclusive) waits for this batch, and this
        # batch never counts with a meter definition its rebuild has already replaced.
        await lock_meters_shared(session)
        await attribute(session, settings, fresh)
        meters = await active_compiled_meters(session)
        store = store_for(session)
        inserted = await store.insert_events([event_row(e, now) for e in fresh])
        batch = RollupBatch()
        for event in fresh:
            if event.dedupe_key not in inserted:
                result.duplicates.append(event.index)
                continue
            result.accepted += 1
            if event.user_id is None:
                result.unattributed.append(event.index)
            elif meters:
                batch.add(meters, event.user_id, event.occurred_at, event.view())
        if batch:
            await store.add_rollups(batch)

    result.rejected.sort(key=lambda r: r.index)
    result.duplicates.sort()
    result.unattributed.sort()
    count_usage_events(
        accepted=result.accepted,
        duplicates=len(result.duplicates),
        rejected=len(result.rejected),
        unattributed=len(result.unattributed),
    )
    if result.rejected or result.unattributed:
        log.info(
            "usage_batch_partial",
            received=received,
            accepted=result.accepted,
            duplicates=len(result.duplicates),
            unattributed=len(result.unattributed),
            rejected=[(r.index, r.code) for r in result.rejected[:20]],
        )
    return result
