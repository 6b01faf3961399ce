"""Hardening test fixtures: an app with an admin token, signed-up members, and captured log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from portal_api.config import Settings
from portal_api.logging_setup import build_formatter

ADMIN_TOKEN = "mdp_admin_" + "h" * 43
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ADMIN_EMAIL = "owner@provider.example.com"
PASSWORD = "correct horse battery"


@dataclass
class Member:
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(admin_bootstrap_token=ADMIN_TOKEN, admin_emails=ADMIN_EMAIL, log_level="INFO")


async def sign_up(api: httpx.AsyncClient, email: str, **headers: str) -> Member:
    response = await api.post("/v1/auth/signup", json={"email": email, "password": PASSWORD}, headers=headers)
    assert response.status_code == 201, response.text
    api.cookies.clear()
    body = response.json()
    return Member(id=body["user"]["id"], email=email, token=body["token"])


class CapturedLogs(logging.Handler):
    """Every log record (structlog and stdlib), rendered by the production JSON formatter."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(build_formatter(json=True))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == event]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def captured_logs(app: Any) -> Iterator[CapturedLogs]:
    """Attached after the app (and its logging) is configured; the root level is the app's LOG_LEVEL."""
    handler = CapturedLogs()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
