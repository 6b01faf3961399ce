"""ASGI middleware capping request bodies: 413 with the JSON error body past the route's limit.

MAX_BODY_BYTES applies everywhere except the usage ingest routes (POST /v1/usage/events and /collector/*),
which take USAGE_MAX_BODY_BYTES (batches are big). A declared Content-Length above the
limit is refused before the app runs; otherwise the streamed bytes are counted as the app reads them and
reading past the limit raises `BodyTooLarge`, an HTTPException(413) that FastAPI's body parsing re-raises and
the app's error handler renders; should it escape anyway, the middleware answers 413 itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from portal_api.errors import error_body
from portal_api.protection.security_headers import json_response_messages

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

INGEST_PATHS = frozenset({"/v1/usage/events"})
INGEST_PREFIX = "/collector/"


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"The request body is larger than {limit} bytes")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, ingest_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.ingest_body_bytes = ingest_body_bytes

    def limit_for(self, scope: Scope) -> int:
        path: str = scope["path"]
        if path in INGEST_PATHS or path.startswith(INGEST_PREFIX):
            return self.ingest_body_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(send, limit)
            return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if response_started:
                raise
            await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        body = error_body("payload_too_large", f"The request body is larger than {limit} bytes")
        for message in json_response_messages(413, body, extra_headers=[(b"connection", b"close")]):
            await send(message)
