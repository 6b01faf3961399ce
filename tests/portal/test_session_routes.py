"""The session routes: a hand-off code becomes the HttpOnly cookie once, for its own browser, in seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from my_dev_portal import routes, session_cookie
from my_dev_portal.config import get_settings
from my_dev_portal.security_headers import with_security_headers
from my_dev_portal.session_cookie import (
    BROWSER_COOKIE,
    HANDOFF_SECONDS,
    LEGACY_SESSION_COOKIE,
    SESSION_COOKIE,
    Handoff,
    MemoryHandoffs,
    RedisHandoffs,
    fingerprint,
)
from my_dev_portal.session_routes import session_app
from tests.portal.fakes import BROWSER_ID

SESSION_ENDS = datetime.now(UTC) + timedelta(days=7)


def _pages() -> Starlette:
    """Stands in for what Reflex mounts inside the session app: the compiled pages and its backend."""

    async def page(request):
        return HTMLResponse("<html>a page</html>")

    async def script(request):
        return PlainTextResponse("console.log(1)", media_type="text/javascript")

    return Starlette(routes=[Route("/dashboard", page), Route("/assets/app.js", script)])


def _portal() -> ASGIApp:
    """The portal's transformers applied as Reflex applies `rx.App(api_transformer=[...])`, in order."""
    app = session_app()
    app.mount("", _pages())
    return with_security_headers(app)


def _client(cookies: dict[str, str] | None = None) -> httpx.AsyncClient:
    # Cookies go in as a header: an httpx cookie jar would hide what the browser is told to store.
    header = "; ".join(f"{name}={value}" for name, value in (cookies or {}).items())
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_portal()),
        base_url="http://localhost:3000",
        headers={"Cookie": header} if header else {},
    )


def _set_cookies(response: httpx.Response) -> dict[str, SimpleCookie]:
    """Each Set-Cookie of `response`, by cookie name."""
    parsed = {}
    for value in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(value)
        parsed.update({name: cookie for name in cookie})
    return parsed


async def _code(token: str = "tok_login", browser: str = BROWSER_ID) -> str:
    # The session ends a week from now (not from when this module was imported, minutes ago in a full run).
    ends = datetime.now(UTC) + timedelta(days=7)
    return await session_cookie.hand_off(token, browser_cookie=browser, session_expires_at=ends)


async def _establish(code: str, next_path: str = "/dashboard", browser: str = BROWSER_ID) -> httpx.Response:
    async with _client({BROWSER_COOKIE: browser} if browser else {}) as client:
        return await client.get(routes.SESSION_ESTABLISH, params={"code": code, "next": next_path})


async def test_establish_sets_the_token_as_an_httponly_cookie_and_goes_on() -> None:
    response = await _establish(await _code())
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    assert response.headers["cache-control"] == "no-store"
    cookie = _set_cookies(response)[SESSION_COOKIE][SESSION_COOKIE]
    assert cookie.value == "tok_login"
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/"
    # http://localhost: a Secure cookie would not be stored.
    assert not cookie["secure"]
    # As long as the API session lives.
    assert abs(int(cookie["max-age"]) - 7 * 24 * 3600) < 60


async def test_a_code_is_used_once() -> None:
    code = await _code()
    assert (await _establish(code)).headers["location"] == "/dashboard"
    again = await _establish(code)
    assert again.status_code == 303
    assert again.headers["location"] == routes.login_with_next("/dashboard", signin_failed=True)
    assert SESSION_COOKIE not in _set_cookies(again)


async def test_an_expired_code_is_refused_with_a_way_back_to_login(monkeypatch: pytest.MonkeyPatch) -> None:
    code = await _code()
    later = session_cookie.time.monotonic() + HANDOFF_SECONDS + 1
    monkeypatch.setattr(session_cookie.time, "monotonic", lambda: later)
    response = await _establish(code, "/return?checkout_session_id=cs_1")
    assert response.headers["location"] == "/login?next=/return%3Fcheckout_session_id%3Dcs_1&signin=failed"
    assert SESSION_COOKIE not in _set_cookies(response)


@pytest.mark.parametrize("browser", ["another-browser", ""], ids=["other browser", "no browser cookie"])
async def test_a_code_only_works_in_the_browser_it_was_issued_to(browser: str) -> None:
    """A code copied out of the page (or an attacker's own, pushed to a victim) is worthless elsewhere."""
    response = await _establish(await _code(), browser=browser)
    assert response.headers["location"].endswith("&signin=failed")
    assert SESSION_COOKIE not in _set_cookies(response)


async def test_an_unknown_or_missing_code_is_refused() -> None:
    assert (await _establish("no-such-code")).headers["location"].endswith("&signin=failed")
    assert (await _establish("")).headers["location"].endswith("&signin=failed")


async def test_establish_never_sends_the_browser_off_site() -> None:
    response = await _establish(await _code(), "https://evil.example/")
    assert response.headers["location"] == "/dashboard"


async def test_the_cookie_is_secure_when_the_portal_is_https(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_URL", "https://portal.example.com")
    get_settings.cache_clear()
    response = await _establish(await _code())
    cookie = _set_cookies(response)[SESSION_COOKIE][SESSION_COOKIE]
    assert cookie["secure"] is True and cookie["httponly"] is True
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_end_clears_the_cookie_and_goes_on() -> None:
    async with _client({SESSION_COOKIE: "tok_old", BROWSER_COOKIE: BROWSER_ID}) as client:
        response = await client.get(routes.SESSION_END, params={"next": "/login?next=/dashboard"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/dashboard"
    cookie = _set_cookies(response)[SESSION_COOKIE][SESSION_COOKIE]
    assert cookie.value == "" and cookie["max-age"] == "0"
    assert cookie["path"] == "/" and cookie["httponly"] is True


async def test_another_site_cannot_sign_users_out() -> None:
    async with _client({SESSION_COOKIE: "tok_abc"}) as client:
        response = await client.get(routes.SESSION_END, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.headers["location"] == "/"
    assert SESSION_COOKIE not in _set_cookies(response)


@pytest.mark.parametrize(
    "path",
    [routes.SESSION_ESTABLISH + "?code=x", routes.SESSION_END, "/dashboard"],
    ids=["establish", "end", "page"],
)
async def test_session_routes_send_the_security_headers(path: str) -> None:
    async with _client() as client:
        response = await client.get(path)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_the_first_page_gives_the_browser_its_httponly_id() -> None:
    async with _client() as client:
        page = await client.get("/dashboard")
        script = await client.get("/assets/app.js")
    cookie = _set_cookies(page)[BROWSER_COOKIE][BROWSER_COOKIE]
    assert len(cookie.value) >= 40
    assert cookie["httponly"] is True and cookie["samesite"].lower() == "lax" and cookie["path"] == "/"
    # Not on a page's scripts (they load in parallel, after the page), nor when the browser has one.
    assert BROWSER_COOKIE not in _set_cookies(script)
    async with _client({BROWSER_COOKIE: BROWSER_ID}) as client:
        assert _set_cookies(await client.get("/dashboard")) == {}


async def test_a_page_load_revalidated_from_cache_gets_the_id_too() -> None:
    async with _client() as client:
        response = await client.get("/assets/app.js", headers={"Sec-Fetch-Dest": "document"})
    assert BROWSER_COOKIE in _set_cookies(response)


async def test_pages_delete_the_script_readable_cookie_of_earlier_versions() -> None:
    async with _client({LEGACY_SESSION_COOKIE: "tok_from_js", BROWSER_COOKIE: BROWSER_ID}) as client:
        response = await client.get("/dashboard")
    legacy = _set_cookies(response)[LEGACY_SESSION_COOKIE][LEGACY_SESSION_COOKIE]
    assert legacy.value == "" and legacy["max-age"] == "0" and legacy["path"] == "/"


async def test_memory_handoffs_forget_codes_nobody_came_for(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryHandoffs()
    await store.put("old", Handoff("tok_1", fingerprint(BROWSER_ID), SESSION_ENDS))
    later = session_cookie.time.monotonic() + HANDOFF_SECONDS + 1
    monkeypatch.setattr(session_cookie.time, "monotonic", lambda: later)
    await store.put("new", Handoff("tok_2", fingerprint(BROWSER_ID), SESSION_ENDS))
    assert list(store._entries) == ["new"]


class FakeRedis:
    """The two commands RedisHandoffs uses, as redis.asyncio.Redis answers them."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.expiry_ms: dict[str, int] = {}

    async def set(self, name: str, value: str, px: int) -> bool:
        self.values[name], self.expiry_ms[name] = value.encode(), px
        return True

    async def getdel(self, name: str) -> bytes | None:
        return self.values.pop(name, None)


async def test_redis_handoffs_expire_in_redis_and_are_taken_once() -> None:
    redis = FakeRedis()
    store = RedisHandoffs(redis)
    handoff = Handoff("tok_login", fingerprint(BROWSER_ID), SESSION_ENDS)
    await store.put("code-1", handoff)
    # The key names the code's fingerprint, not the code.
    assert all("code-1" not in key for key in redis.values)
    assert list(redis.expiry_ms.values()) == [int(HANDOFF_SECONDS * 1000)]
    assert await store.take("code-1") == handoff
    assert await store.take("code-1") is None
