"""Sign-up, login, logout and /v1/me over ASGI, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

GOOD_PASSWORD = "correct horse battery"


async def signup(api: httpx.AsyncClient, email: str = "dev@example.com", **extra: str) -> httpx.Response:
    return await api.post("/v1/auth/signup", json={"email": email, "password": GOOD_PASSWORD, **extra})


async def test_signup_returns_user_and_sets_http_only_session_cookie(api: httpx.AsyncClient) -> None:
    response = await signup(api, "Dev@Example.com", name="Dev")

    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == "dev@example.com"
    assert body["user"]["name"] == "Dev"
    assert body["user"]["is_admin"] is False
    cookie = response.headers["set-cookie"]
    assert "mdp_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = await api.get("/v1/me")
    assert me.status_code == 200 and me.json()["id"] == body["user"]["id"]


async def test_bearer_token_authenticates_scripts_without_cookie(api: httpx.AsyncClient) -> None:
    token = (await signup(api)).json()["token"]
    api.cookies.clear()

    me = await api.get("/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert me.status_code == 200 and me.json()["email"] == "dev@example.com"


async def test_duplicate_email_is_409_whatever_the_case(api: httpx.AsyncClient) -> None:
    await signup(api, "dev@example.com")

    response = await signup(api, "DEV@example.com")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"


async def test_weak_password_is_422_with_clear_message(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/auth/signup", json={"email": "a@example.com", "password": "short"})

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "weak_password",
        "message": "Password must be at least 10 characters",
    }


async def test_invalid_email_is_422_validation_error(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/auth/signup", json={"email": "not-an-email", "password": GOOD_PASSWORD})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert "email" in response.json()["error"]["message"]


async def test_login_with_wrong_password_is_401_and_right_password_is_200(api: httpx.AsyncClient) -> None:
    await signup(api)
    api.cookies.clear()

    wrong = await api.post("/v1/auth/login", json={"email": "dev@example.com", "password": "wrong password!"})
    unknown = await api.post(
        "/v1/auth/login", json={"email": "nobody@example.com", "password": GOOD_PASSWORD}
    )
    right = await api.post("/v1/auth/login", json={"email": "dev@example.com", "password": GOOD_PASSWORD})

    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_credentials"
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "invalid_credentials"
    assert right.status_code == 200 and right.json()["token"]


async def test_logout_revokes_the_session_token(api: httpx.AsyncClient) -> None:
    token = (await signup(api)).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    assert (await api.post("/v1/auth/logout", headers=headers)).status_code == 204
    api.cookies.clear()

    me = await api.get("/v1/me", headers=headers)
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "not_signed_in"


async def test_me_without_session_is_401_and_forged_token_is_401(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/me")).status_code == 401
    forged = await api.get("/v1/me", headers={"Authorization": "Bearer abc.def"})
    assert forged.status_code == 401


async def test_admin_emails_setting_promotes_user_at_signup(app, settings_factory) -> None:  # type: ignore[no-untyped-def]
    from tests.fixtures.database import running_app

    settings = settings_factory(admin_emails="boss@example.com")
    async with (
        running_app(settings) as admin_app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=admin_app), base_url="http://t") as client,
    ):
        response = await signup(client, "boss@example.com")
    assert response.json()["user"]["is_admin"] is True
