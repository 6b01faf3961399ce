"""create_app(): the FastAPI application serving /v1 (Stripe API), hosted pages and /_emulator controls."""

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response

from stripe_emulator import control, hosted, idempotency, portal_pages, resources
from stripe_emulator.billing import advance_if_due
from stripe_emulator.emulator import Emulator, EndpointConfig
from stripe_emulator.errors import StripeError, api_error, authentication
from stripe_emulator.forms import parse
from stripe_emulator.ids import new_id
from stripe_emulator.routing import Call, resolve
from stripe_emulator.versions import DEFAULT_VERSION
from stripe_emulator.webhooks import DEFAULT_RETRY_DELAYS

assert resources  # importing the package registers every /v1 route

_KEY_PREFIXES = ("sk_test_", "rk_test_")


def create_app(
    *,
    state_file: str | None = None,
    seed: str | None = None,
    seed_mode: str = "classic",
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_endpoints: list[EndpointConfig] | None = None,
    api_version: str = DEFAULT_VERSION,
    webhook_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
) -> FastAPI:
    """Build the emulator app. ``webhook_url``/``webhook_secret`` add one endpoint subscribed to every event
    (an empty url with a secret only records signed deliveries, readable at /_emulator/webhook_deliveries)."""
    endpoints = list(webhook_endpoints or [])
    if webhook_url or webhook_secret:
        endpoints.append(EndpointConfig(url=webhook_url or "", secret=webhook_secret))
    emulator = Emulator(
        state_file=state_file,
        api_version=api_version,
        endpoints=endpoints,
        seed=seed,
        seed_mode=seed_mode,
        retry_delays=webhook_retry_delays,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await emulator.dispatcher.drain(2.0)
        await emulator.dispatcher.aclose()
        emulator.store.save()

    app = FastAPI(title="Stripe emulator", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.emulator = emulator
    app.include_router(control.router)
    app.include_router(hosted.router)
    app.include_router(portal_pages.router)
    app.add_api_route(
        "/v1/{rest:path}", api_entry, methods=["GET", "POST", "DELETE"], include_in_schema=False
    )
    return app


async def api_entry(request: Request) -> Response:
    """Every /v1 request: stats, faults, then the synchronous dispatch (state changes happen on the loop)."""
    emulator: Emulator = request.app.state.emulator
    method, path = request.method, request.url.path
    emulator.count(method, path)
    emulator.log_request(method, path, api_key_of(request.headers.get("authorization")))
    fault = emulator.faults.take(method, path)
    if fault is not None and fault.mode == "error":
        return _error(api_error("Emulated fault: the request was not applied."), fault.status)
    if fault is not None and fault.mode == "timeout":
        await asyncio.sleep(fault.seconds)
        return _error(api_error("Emulated timeout: the request was not applied."), fault.status)
    if fault is not None and fault.mode == "delay":
        await asyncio.sleep(fault.seconds)  # a slow but successful answer
    body = await request.body() if method == "POST" else b""
    status, content, headers = dispatch(emulator, request, method, path, body)
    if fault is not None and fault.mode == "drop":
        return _error(api_error("Emulated dropped response: the request WAS applied."), fault.status)
    return Response(content=content, status_code=status, headers=headers, media_type="application/json")


def dispatch(
    emulator: Emulator, request: Request, method: str, path: str, body: bytes
) -> tuple[int, str, dict[str, str]]:
    request_id = new_id("req", 14)
    headers = {"Request-Id": request_id}
    key = request.headers.get("idempotency-key") if method == "POST" else None
    print_: str | None = None  # set once the key is known to be new: only then is the response kept
    try:
        _authenticate(request.headers.get("authorization"))
        version = request.headers.get("stripe-version") or emulator.store.api_version
        headers["Stripe-Version"] = version
        if key:
            headers["Idempotency-Key"] = key
            fingerprint = idempotency.fingerprint(method, path, body)
            record = idempotency.lookup(emulator.store, key, fingerprint)
            if record is not None:
                headers["Idempotent-Replayed"] = "true"
                return record["status"], record["body"], headers
            print_ = fingerprint
        found = resolve(method, path)
        if found is None:
            raise StripeError(
                f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can "
                "help at https://support.stripe.com/.",
                status=404,
            )
        handler, path_params = found
        advance_if_due(emulator.store)
        raw = body.decode() if method == "POST" else request.url.query
        call = Call(
            store=emulator.store,
            params=parse(raw),
            version=version,
            base_url=str(request.base_url).rstrip("/"),
            path=path_params,
        )
        status, content = 200, json.dumps(handler(call))
    except StripeError as exc:
        status, content = exc.status, json.dumps(_with_request_id(exc.body(), request_id))
        headers.update(exc.headers)
    if key and print_ and status < 500:
        idempotency.remember(emulator.store, key, print_, status, content)
    return status, content, headers


def _with_request_id(body: dict[str, Any], request_id: str) -> dict[str, Any]:
    body["error"]["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
    return body


def api_key_of(header: str | None) -> str:
    """The API key of a Bearer or Basic Authorization header ("" when there is none)."""
    scheme, _, value = (header or "").partition(" ")
    key = value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(key).decode().partition(":")[0]
        except ValueError:
            return ""
    return key if scheme.lower() == "bearer" else ""


def _authenticate(header: str | None) -> None:
    if not header:
        raise authentication(
            "You did not provide an API key. You need to provide your API key in the Authorization header, "
            "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
        )
    key = api_key_of(header)
    if not key.startswith(_KEY_PREFIXES):
        shown = f"{key[:8]}{'*' * 4}{key[-4:]}" if len(key) > 12 else key
        raise authentication(f"Invalid API Key provided: {shown}")


def _error(error: StripeError, status: int) -> Response:
    return Response(content=json.dumps(error.body()), status_code=status, media_type="application/json")
