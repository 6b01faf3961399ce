"""Hardening test fixtures: an app with an admin token and a provider admin e-mail, and captured log lines.

Members, `sign_up` and the admin token are in tests/fixtures/members.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from portal_api.config import Settings
from portal_api.logging_setup import build_formatter
from tests.fixtures.members import ADMIN_EMAIL, ADMIN_TOKEN


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(admin_bootstrap_token=ADMIN_TOKEN, admin_emails=ADMIN_EMAIL, log_level="INFO")


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
