"""The /_emulator control routes (no auth): reset, seed, clock, snapshot, checkout pay, faults, stats..."""

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stripe_emulator import billing
from stripe_emulator.emulator import Emulator
from stripe_emulator.errors import StripeError, not_found
from stripe_emulator.render import render
from stripe_emulator.resources.checkout import complete_session
from stripe_emulator.seed import SEED_MODES
from stripe_emulator.webhooks import sign

router = APIRouter(prefix="/_emulator")


def _emulator(request: Request) -> Emulator:
    return request.app.state.emulator  # type: ignore[no-any-return]


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    data: dict[str, Any] = dict(request.query_params)
    if raw:
        try:
            loaded = json.loads(raw)
        except ValueError:
            loaded = {}
        if isinstance(loaded, dict):
            data.update(loaded)
    return data


def _error(exc: StripeError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    body = await _body(request)
    seeded = _emulator(request).reset(seed=body.get("seed"), seed_mode=body.get("mode"))
    return {"reset": True, "seeded": seeded}


@router.post("/seed", response_model=None)
async def seed(request: Request) -> dict[str, Any] | JSONResponse:
    mode = (await _body(request)).get("mode", "classic")
    if mode not in SEED_MODES:
        return _error(StripeError(f"mode must be one of {SEED_MODES}", param="mode"))
    return _emulator(request).seed(mode)


@router.get("/clock")
async def clock(request: Request) -> dict[str, int]:
    store = _emulator(request).store
    return {"now": store.clock.now(), "offset": store.clock.offset}


@router.post("/clock/advance")
async def advance_clock(request: Request) -> dict[str, int]:
    body = await _body(request)
    seconds = (
        float(body.get("seconds", 0))
        + 60 * float(body.get("minutes", 0))
        + 3600 * float(body.get("hours", 0))
        + 86_400 * float(body.get("days", 0))
    )
    emulator = _emulator(request)
    now = emulator.advance_clock(int(seconds))
    return {"now": now, "offset": emulator.store.clock.offset}


@router.post("/snapshot")
async def snapshot(request: Request) -> dict[str, Any]:
    body = await _body(request)
    path = _emulator(request).store.save(body.get("path"))
    return {"saved": path is not None, "path": path}


@router.post("/checkout/sessions/{session_id}/pay", response_model=None)
async def pay_checkout_session(session_id: str, request: Request) -> dict[str, Any] | JSONResponse:
    body = await _body(request)
    store = _emulator(request).store
    session = store.get(session_id, "checkout.session")
    if session is None:
        return _error(not_found("checkout.session", session_id))
    try:
        complete_session(store, session, email=body.get("email"), name=body.get("name"))
    except StripeError as exc:
        return _error(exc)
    return render(store, session, body.get("api_version") or store.api_version)


@router.post("/subscriptions/{subscription_id}/status", response_model=None)
async def set_subscription_status(subscription_id: str, request: Request) -> dict[str, Any] | JSONResponse:
    body = await _body(request)
    store = _emulator(request).store
    subscription = store.get(subscription_id, "subscription")
    if subscription is None:
        return _error(not_found("subscription", subscription_id))
    try:
        billing.set_status(store, subscription, str(body.get("status")))
    except StripeError as exc:
        return _error(exc)
    return render(store, subscription, body.get("api_version") or store.api_version)


@router.get("/webhook_deliveries")
async def webhook_deliveries(request: Request) -> list[dict[str, Any]]:
    params = request.query_params
    deliveries = _emulator(request).dispatcher.deliveries
    for name in ("type", "event_id", "endpoint", "url"):
        if params.get(name) is not None:
            deliveries = [d for d in deliveries if d[name] == params[name]]
    return deliveries


@router.delete("/webhook_deliveries")
async def clear_webhook_deliveries(request: Request) -> dict[str, bool]:
    _emulator(request).dispatcher.deliveries.clear()
    return {"cleared": True}


@router.post("/webhooks/sign", response_model=None)
async def sign_payload(request: Request) -> dict[str, Any] | JSONResponse:
    """Sign ``payload`` with ``secret`` (default: the first configured endpoint's secret)."""
    body = await _body(request)
    emulator = _emulator(request)
    secret = body.get("secret") or next((c.secret for c in emulator.endpoints if c.secret), None)
    if not secret:
        return _error(StripeError("No secret given and no webhook secret configured.", param="secret"))
    timestamp = int(body["timestamp"]) if body.get("timestamp") is not None else None
    header = sign(str(body.get("payload", "")), secret, timestamp)
    return {"header": header, "secret": secret}


@router.post("/faults", response_model=None)
async def add_fault(request: Request) -> dict[str, Any] | JSONResponse:
    try:
        fault = _emulator(request).faults.add(await _body(request))
    except (StripeError, ValueError) as exc:
        return _error(exc if isinstance(exc, StripeError) else StripeError(str(exc)))
    return {"id": fault.id, "path": fault.path, "mode": fault.mode, "count": fault.count}


@router.get("/faults")
async def list_faults(request: Request) -> list[dict[str, Any]]:
    return _emulator(request).faults.describe()


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, bool]:
    _emulator(request).faults.clear()
    return {"cleared": True}


@router.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    counts = _emulator(request).stats
    return {"total": sum(counts.values()), "requests": dict(counts)}


@router.get("/requests")
async def request_log(request: Request, method: str | None = None, path: str | None = None) -> dict[str, Any]:
    """The latest API requests, oldest first: method, path and which key (last 4, digest) each used."""
    found = [
        entry
        for entry in _emulator(request).request_log
        if (method is None or entry["method"] == method.upper()) and (path is None or entry["path"] == path)
    ]
    return {"data": found}


@router.delete("/stats")
async def clear_stats(request: Request) -> dict[str, bool]:
    _emulator(request).stats.clear()
    return {"cleared": True}
