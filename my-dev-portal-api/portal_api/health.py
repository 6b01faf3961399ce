"""Liveness/readiness endpoint: answers when the app is up and its database reachable."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from portal_api.deps import ReadSession

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(session: ReadSession) -> dict[str, str]:
    await session.execute(text("SELECT 1"))
    return {"status": "ok"}
