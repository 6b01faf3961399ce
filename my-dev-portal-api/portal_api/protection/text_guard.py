"""ASGI middleware refusing NUL characters (U+0000) in paths, query strings and JSON bodies with a 422.

PostgreSQL text cannot hold U+0000: a key name, a meter id in the path or a token name carrying one made the
INSERT or SELECT fail with a 500 there (SQLite stored it). No field of ours has a use for it, so it is refused
at the edge, with the same answer on both backends. JSON bodies are searched for the `\\u0000` escape first
(a raw NUL is not valid JSON anyway); only when it appears is the body parsed to tell a real NUL from an
escaped backslash followed by "u0000". The usage ingest routes and Stripe webhooks are left alone: their
events are judged one by one by their own code. So is key verification: a gateway passes on whatever a client
sent, and a malformed key (NUL included) is answered `valid: false` by its shape check before any query.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from portal_api.errors import error_body
from portal_api.protection.security_headers import json_response_messages

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

NUL_ESCAPE = b"\\u0000"
EXEMPT_PATHS = frozenset({"/v1/usage/events", "/v1/webhooks/stripe", "/v1/keys/verify"})
EXEMPT_PREFIX = "/collector/"
MESSAGE = "Text must not contain NUL (U+0000) characters"


def holds_nul(value: Any) -> bool:
    """True when a string anywhere in a decoded JSON value (keys included) contains U+0000."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _json_body_holds_nul(body: bytes) -> bool:
    if NUL_ESCAPE not in body:
        return False
    try:
        return holds_nul(json.loads(body))
    except ValueError:
        return False  # not JSON: the route answers that itself


class TextGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if "\x00" in path or b"%00" in scope.get("query_string", b""):
            await self._refuse(send)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") or path in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if path.startswith(EXEMPT_PREFIX):
            await self.app(scope, receive, send)
            return
        # The body limit (outside this middleware) bounds what is buffered here.
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        if _json_body_holds_nul(b"".join(chunks)):
            await self._refuse(send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send) -> None:
        for message in json_response_messages(422, error_body("validation_error", MESSAGE)):
            await send(message)
