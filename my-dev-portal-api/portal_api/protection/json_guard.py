"""ASGI middleware enforcing json_limits.py at the edge: NUL (U+0000) in paths, query strings and JSON bodies
is refused with a 422, JSON nested deeper than MAX_JSON_DEPTH with a 400 `json_too_deep`.

PostgreSQL text cannot hold U+0000: a key name, a meter id in the path or a token name carrying one made the
INSERT or SELECT fail with a 500 there (SQLite stored it). No field of ours has a use for it, so it is refused
at the edge, with the same answer on both backends. A deeply nested body (100,000 arrays) made the decoder
raise RecursionError: a 500 that dropped the connection. Every JSON body of the routes below is decoded
once here and walked iteratively; one that is not JSON at all is left to the route, which answers that
itself. The usage ingest routes and Stripe webhooks are left alone: they decode with the same limits and
judge events one by one. So is key verification: a gateway passes on whatever a client sent, and a
malformed key (NUL included) is answered `valid: false` by its shape check before any query.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from portal_api.errors import error_body
from portal_api.protection.json_limits import InvalidJson, JsonTooDeep, Problem, decode_json, json_problem
from portal_api.protection.security_headers import json_response_messages

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

EXEMPT_PATHS = frozenset({"/v1/usage/events", "/v1/webhooks/stripe", "/v1/keys/verify"})
EXEMPT_PREFIX = "/collector/"
MESSAGE = "Text must not contain NUL (U+0000) characters"


def holds_nul(value: Any) -> bool:
    """True when a string anywhere in a decoded JSON value (keys included) contains U+0000."""
    return json_problem(value) == "nul"


def body_problem(body: bytes) -> Problem | None:
    if not body.strip():
        return None
    try:
        return json_problem(decode_json(body, check_depth=False))
    except JsonTooDeep:
        return "too_deep"
    except InvalidJson:
        return None  # not JSON (a form, garbage): the route answers that itself


class JsonGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if "\x00" in path or b"%00" in scope.get("query_string", b""):
            await self._refuse(send, "nul")
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
        problem = body_problem(b"".join(chunks))
        if problem is not None:
            await self._refuse(send, problem)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, problem: Problem) -> None:
        if problem == "nul":
            status, body = 422, error_body("validation_error", MESSAGE)
        else:
            status, body = JsonTooDeep.status, error_body(JsonTooDeep.code, JsonTooDeep.message)
        for message in json_response_messages(status, body):
            await send(message)
