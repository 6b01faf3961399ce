"""Logging configuration: structlog and stdlib records rendered by one root handler (JSON lines or console).

structlog events are handed to the stdlib logger named after their module and rendered, like every stdlib
record (uvicorn, SQLAlchemy, httpx...), by a `ProcessorFormatter` on the root handler. Both chains merge
structlog's contextvars, so the request id bound by the observability middleware is on every line logged
while a request is handled, whichever library logged it.
"""

from __future__ import annotations

import logging
import sys

import structlog

# Marks the root handler installed here, so configuring again (one app per test) replaces it.
_HANDLER_NAME = "portal_api"


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is at the time (test runners swap it), not the one seen at setup."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def _level_number(level: str) -> int:
    return logging.getLevelNamesMapping().get(level.upper(), logging.INFO)


def build_formatter(*, json: bool = True) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of the root handler; tests use it to render captured records exactly as production."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        # Applied to records that did not come from structlog (uvicorn, SQLAlchemy, httpx, stripe...).
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    level_number = _level_number(level)
    structlog.configure(
        processors=[
            # The stdlib level decides (root level below), so configuring again - another app in the same
            # process - takes effect even for loggers structlog has already cached.
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = _StdoutHandler(sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(build_formatter(json=json))
    root.addHandler(handler)
    root.setLevel(level_number)
    # Chatty libraries stay at WARNING even when LOG_LEVEL=DEBUG: httpx logs every outbound URL (Stripe
    # list calls carry customer emails in query strings) and its failures reach us as stripe_error lines;
    # SQLAlchemy and aiosqlite would log SQL with its parameters (password and key hashes, session ids).
    # DATABASE_ECHO=true still shows SQL: the engine then gets a logger and handler of its own.
    for name in ("httpx", "httpcore", "sqlalchemy", "aiosqlite", "asyncio"):
        logging.getLogger(name).setLevel(max(level_number, logging.WARNING))
    if json:
        # uvicorn's own handlers print plain text; send its records through ours instead. Its access log
        # is replaced by ours (which never carries query strings), so it is silenced.
        for name in ("uvicorn", "uvicorn.error"):
            server_logger = logging.getLogger(name)
            server_logger.handlers.clear()
            server_logger.propagate = True
        logging.getLogger("uvicorn.access").disabled = True
