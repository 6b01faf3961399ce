"""CSRF: cookie-authenticated writes need an allowed Origin or Referer; Bearer and cookie-less calls pass."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from portal_api.config import Settings
from portal_api.protection.csrf import normalize_origin
from tests.fixtures.members import ADMIN_TOKEN, PASSWORD, sign_up

PORTAL = "http://portal.test"  # settings_factory's PORTAL_URL
EVIL = "https://evil.example"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(
        admin_bootstrap_token=ADMIN_TOKEN, csrf_trusted_origins="https://docs.example.com:8443"
    )


async def cookie_session(api: httpx.AsyncClient) -> dict[str, str]:
    member = await sign_up(api, "dev@example.com")
    return {"Cookie": f"mdp_session={member.token}"}


def assert_csrf_failed(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "csrf_failed"


async def test_cookie_write_from_a_foreign_origin_is_refused(api: httpx.AsyncClient) -> None:
    cookie = await cookie_session(api)

    response = await api.post("/v1/keys", json={"name": "stolen"}, headers={**cookie, "Origin": EVIL})

    assert_csrf_failed(response)
    listed = await api.get("/v1/keys", headers=cookie)  # reads are not writes: the cookie still works
    assert listed.status_code == 200 and listed.json()["data"] == []


async def test_cookie_write_without_origin_or_referer_is_refused(api: httpx.AsyncClient) -> None:
    cookie = await cookie_session(api)

    assert_csrf_failed(await api.post("/v1/keys", json={"name": "x"}, headers=cookie))
    assert_csrf_failed(await api.post("/v1/keys", json={"name": "x"}, headers={**cookie, "Origin": "null"}))


@pytest.mark.parametrize(
    "source",
    [
        {"Origin": PORTAL},
        {"Origin": "HTTP://Portal.Test:80"},
        {"Origin": "http://127.0.0.1:8000"},  # API_URL
        {"Origin": "https://docs.example.com:8443"},  # CSRF_TRUSTED_ORIGINS
        {"Referer": f"{PORTAL}/dashboard?tab=keys"},  # no Origin: the Referer's origin decides
    ],
)
async def test_cookie_write_from_an_allowed_origin_passes(
    api: httpx.AsyncClient, source: dict[str, str]
) -> None:
    cookie = await cookie_session(api)

    response = await api.post("/v1/keys", json={"name": "ok"}, headers={**cookie, **source})

    assert response.status_code == 201, response.text


async def test_an_origin_header_wins_over_a_good_referer(api: httpx.AsyncClient) -> None:
    cookie = await cookie_session(api)

    response = await api.post(
        "/v1/keys", json={"name": "x"}, headers={**cookie, "Origin": EVIL, "Referer": f"{PORTAL}/"}
    )

    assert_csrf_failed(response)


async def test_bearer_calls_and_cookie_less_calls_are_not_checked(api: httpx.AsyncClient) -> None:
    member = await sign_up(api, "dev@example.com")

    bearer = await api.post("/v1/keys", json={"name": "script"}, headers={**member.headers, "Origin": EVIL})
    bearer_with_cookie = await api.post(
        "/v1/keys",
        json={"name": "script"},
        headers={**member.headers, "Cookie": f"mdp_session={member.token}"},
    )
    no_cookie = await api.post("/v1/keys", json={"name": "x"}, headers={"Origin": EVIL})

    assert bearer.status_code == 201 and bearer_with_cookie.status_code == 201
    assert no_cookie.status_code == 401  # not signed in: refused by auth, not by CSRF


async def test_login_and_signup_refuse_foreign_origins_even_without_cookies(api: httpx.AsyncClient) -> None:
    await sign_up(api, "dev@example.com")
    credentials = {"email": "dev@example.com", "password": PASSWORD}

    foreign_login = await api.post("/v1/auth/login", json=credentials, headers={"Origin": EVIL})
    foreign_signup = await api.post(
        "/v1/auth/signup", json={"email": "new@example.com", "password": PASSWORD}, headers={"Referer": EVIL}
    )
    portal_login = await api.post("/v1/auth/login", json=credentials, headers={"Origin": PORTAL})
    script_login = await api.post(
        "/v1/auth/login", json=credentials, headers={"Cookie": "mdp_session=stale"}
    )  # no Origin: a script (or the portal's server), not a browser page

    assert_csrf_failed(foreign_login)
    assert_csrf_failed(foreign_signup)
    assert portal_login.status_code == 200 and script_login.status_code == 200


async def test_webhooks_and_the_collector_are_exempt(api: httpx.AsyncClient) -> None:
    cookie = {"Cookie": "mdp_session=whatever", "Origin": EVIL}

    webhook = await api.post("/v1/webhooks/stripe", content=b"{}", headers=cookie)
    collector = await api.post("/collector/v1/events/batch", json=[], headers=cookie)

    assert webhook.json()["error"]["code"] == "invalid_signature"
    assert collector.json()["error"]["code"] == "missing_application_id"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://Portal.Example.com/", "https://portal.example.com"),
        ("https://portal.example.com:443/x", "https://portal.example.com"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://[::1]:8000/", "http://[::1]:8000"),
        ("null", None),
        ("javascript:alert(1)", None),
        ("https://host:99999", None),
        ("ftp://files.example.com", None),
    ],
)
def test_origins_are_compared_as_scheme_host_and_port(value: str, expected: str | None) -> None:
    assert normalize_origin(value) == expected


@pytest.mark.parametrize(
    "authorization",
    ["Basic ZGV2OnBhc3N3b3Jk", "Bearer", "Token abc", f"Bearer {ADMIN_TOKEN}"],
    ids=["basic", "empty-bearer", "other-scheme", "admin-token"],
)
async def test_a_cookie_write_with_an_authorization_header_that_does_not_sign_in_is_not_let_through(
    api: httpx.AsyncClient, authorization: str
) -> None:
    cookie = await cookie_session(api)
    headers = {**cookie, "Origin": EVIL, "Authorization": authorization}

    response = await api.post("/v1/keys", json={"name": "stolen"}, headers=headers)

    assert response.status_code in (401, 403), response.text  # refused by CSRF, or not signed in at all
    assert response.json()["error"]["code"] in ("csrf_failed", "not_signed_in")
    assert (await api.get("/v1/keys", headers=cookie)).json()["data"] == []  # no key was created


async def test_with_an_authorization_header_the_cookie_never_signs_a_request_in(
    api: httpx.AsyncClient,
) -> None:
    cookie = await cookie_session(api)

    basic = await api.get("/v1/me", headers={**cookie, "Authorization": "Basic ZGV2OnBhc3N3b3Jk"})
    cookie_only = await api.get("/v1/me", headers=cookie)

    assert basic.status_code == 401 and basic.json()["error"]["code"] == "not_signed_in"
    assert cookie_only.status_code == 200
