"""Request ids, the logging context bound to them, and the one access log line per request."""

from __future__ import annotations

import re

import httpx
import structlog

from tests.api.hardening.conftest import CapturedLogs
from tests.fixtures.members import sign_up

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


async def test_a_sane_incoming_request_id_is_kept_and_returned(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz", headers={"X-Request-ID": "edge-7f3a:42.x_y"})

    assert response.headers["x-request-id"] == "edge-7f3a:42.x_y"


async def test_a_missing_or_insane_request_id_is_replaced_by_a_fresh_one(api: httpx.AsyncClient) -> None:
    missing = await api.get("/healthz")
    too_long = await api.get("/healthz", headers={"X-Request-ID": "a" * 129})
    injected = await api.get("/healthz", headers={"X-Request-ID": 'x", "admin": true'})

    ids = [r.headers["x-request-id"] for r in (missing, too_long, injected)]
    assert all(GENERATED_ID.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == 3


async def test_error_responses_carry_the_request_id_too(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/me", headers={"X-Request-ID": "req-401"})

    assert response.status_code == 401
    assert response.headers["x-request-id"] == "req-401"


async def test_one_access_line_per_request_with_route_template_and_no_query_or_secrets(
    api: httpx.AsyncClient, captured_logs: CapturedLogs
) -> None:
    member = await sign_up(api, "dev@example.com")
    captured_logs.lines.clear()

    response = await api.post(
        "/v1/keys/key_doesnotexist/rotate?api_key=sk_live_in_query",
        headers={**member.headers, "X-Request-ID": "rotate-1", "Cookie": "mdp_session=cookie-secret"},
    )

    assert response.status_code == 404
    lines = captured_logs.named("http_request")
    assert len(lines) == 1
    line = lines[0]
    assert line["route"] == "/v1/keys/{key_id}/rotate"
    assert (line["method"], line["status"], line["request_id"]) == ("POST", 404, "rotate-1")
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["client_ip"] == "127.0.0.1"
    for secret in ("sk_live_in_query", "cookie-secret", member.token, "key_doesnotexist"):
        assert secret not in captured_logs.text


async def test_every_line_logged_during_a_request_has_its_request_id(
    app: object, api: httpx.AsyncClient, captured_logs: CapturedLogs
) -> None:
    import logging

    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/test-logging")
    async def log_both_ways() -> dict[str, bool]:
        structlog.get_logger("tests.structlog").info("from_structlog")
        logging.getLogger("tests.stdlib").warning("from stdlib")
        return {"ok": True}

    app.include_router(router)  # type: ignore[attr-defined]

    await api.get("/test-logging", headers={"X-Request-ID": "both-ways"})

    by_event = {e["event"]: e for e in captured_logs.events}
    assert by_event["from_structlog"]["request_id"] == "both-ways"
    assert by_event["from stdlib"]["request_id"] == "both-ways"
    assert by_event["from stdlib"]["logger"] == "tests.stdlib"
    assert by_event["http_request"]["route"] == "/test-logging"
    # Nothing leaks into the next request's context (ASGI transports may run the app in the test's task).
    await api.get("/healthz", headers={"X-Request-ID": "next"})
    assert structlog.contextvars.get_contextvars().get("request_id") is None


async def test_unknown_paths_and_methods_are_logged_without_raw_path_labels(
    api: httpx.AsyncClient, captured_logs: CapturedLogs
) -> None:
    await api.get("/wp-admin/install.php")
    await api.get("/v1/keys/verify")  # POST only: 405
    await api.request("PROPFIND", "/v1/plans")

    routes = [(e["route"], e["status"], e["method"]) for e in captured_logs.named("http_request")]
    assert routes == [
        ("unmatched", 404, "GET"),
        ("/v1/keys/verify", 405, "GET"),
        ("/v1/plans", 405, "PROPFIND"),
    ]


async def test_an_unhandled_error_is_a_json_500_with_the_request_id_logged_once(
    app: object, captured_logs: CapturedLogs
) -> None:
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/test-crash")
    async def crash() -> None:
        raise RuntimeError("boom with details nobody outside should see")

    app.include_router(router)  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/test-crash", headers={"X-Request-ID": "crash-1"})

    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "Something went wrong on our side"}
    }
    assert response.headers["x-request-id"] == "crash-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    [error] = captured_logs.named("unhandled_error")
    assert error["request_id"] == "crash-1" and "RuntimeError: boom" in error["exception"]
    [access] = captured_logs.named("http_request")
    assert (access["status"], access["route"]) == (500, "/test-crash")
