"""AuthState: signing up and in, inline validation, the API's messages, the session guard."""

from __future__ import annotations

from my_dev_portal.api_client import ApiError
from my_dev_portal.state.auth import AuthState
from tests.portal.fakes import FakeApi, redirect_path, run


async def test_signup_stores_the_token_and_goes_to_next(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, url="/signup?next=/pricing")
    events = await run(
        AuthState.signup, auth, {"email": " ada@example.com ", "password": "s3cret-pass", "name": "Ada"}
    )
    assert fake_api.called("signup") == [("ada@example.com", "s3cret-pass", "Ada")]
    assert auth.token == "tok_signup"
    assert auth.user_email == "ada@example.com"
    assert redirect_path(events) == "/pricing"
    assert not auth.submitting


async def test_signup_validates_inline_before_calling_the_api(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, url="/signup")
    events = await run(AuthState.signup, auth, {"email": "ada@", "password": "short"})
    assert auth.email_error == "Enter an email address like name@example.com."
    assert auth.password_error == "Use at least 10 characters."
    assert fake_api.calls == []
    assert redirect_path(events) is None


async def test_duplicate_email_shows_the_apis_message(fake_api: FakeApi, state) -> None:
    fake_api.fail["signup"] = ApiError(409, "email_taken", "An account with this email already exists.")
    auth = await state(AuthState, url="/signup")
    events = await run(AuthState.signup, auth, {"email": "ada@example.com", "password": "s3cret-pass"})
    assert auth.form_error == "An account with this email already exists."
    assert auth.token == ""
    assert redirect_path(events) is None


async def test_weak_password_message_lands_next_to_the_password(fake_api: FakeApi, state) -> None:
    fake_api.fail["signup"] = ApiError(422, "weak_password", "Password is too common.")
    auth = await state(AuthState)
    await run(AuthState.signup, auth, {"email": "ada@example.com", "password": "password123"})
    assert auth.password_error == "Password is too common."
    assert auth.form_error == ""


async def test_bad_credentials_are_reported_and_no_token_is_kept(fake_api: FakeApi, state) -> None:
    fake_api.fail["login"] = ApiError(401, "invalid_credentials", "Email or password is wrong.")
    auth = await state(AuthState, url="/login")
    await run(AuthState.login, auth, {"email": "ada@example.com", "password": "nope-nope"})
    assert auth.form_error == "Email or password is wrong."
    assert auth.token == ""


async def test_login_follows_next_but_never_off_site(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, url="/login?next=//evil.example/x")
    events = await run(AuthState.login, auth, {"email": "ada@example.com", "password": "whatever"})
    assert auth.token == "tok_login"
    assert redirect_path(events) == "/dashboard"


async def test_unreachable_api_is_said_plainly(fake_api: FakeApi, state) -> None:
    fake_api.fail["login"] = ApiError(0, "api_unreachable", "The portal API cannot be reached right now.")
    auth = await state(AuthState, url="/login")
    await run(AuthState.login, auth, {"email": "ada@example.com", "password": "whatever"})
    assert auth.form_error == "The portal API cannot be reached right now."


async def test_protected_page_without_token_redirects_to_login_with_next(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, url="/return?checkout_session_id=cs_1")
    events = await run(AuthState.require_login, auth)
    assert redirect_path(events) == "/login?next=/return%3Fcheckout_session_id%3Dcs_1"
    assert fake_api.calls == []


async def test_guard_learns_the_user_and_sends_the_bearer_token(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, url="/dashboard", token="tok_abc")
    events = await run(AuthState.require_login, auth)
    assert redirect_path(events) is None
    assert auth.user_id == "usr_1"
    assert fake_api.tokens == ["tok_abc"]


async def test_expired_session_is_forgotten_and_user_sent_to_login(fake_api: FakeApi, state) -> None:
    fake_api.fail["me"] = ApiError(401, "unauthorized", "Session expired.")
    auth = await state(AuthState, url="/dashboard", token="tok_old")
    events = await run(AuthState.require_login, auth)
    assert auth.token == ""
    assert redirect_path(events) == "/login?next=/dashboard"


async def test_login_page_forwards_a_signed_in_user(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, url="/login?next=/pricing", token="tok_abc")
    assert redirect_path(await run(AuthState.redirect_if_signed_in, auth)) == "/pricing"


async def test_logout_tells_the_api_and_forgets_the_token(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, token="tok_abc")
    auth.user_id = "usr_1"
    events = await run(AuthState.logout, auth)
    assert fake_api.called("logout") == [()]
    assert (auth.token, auth.user_id) == ("", "")
    assert redirect_path(events) == "/"


async def test_email_is_checked_when_the_field_loses_focus(state) -> None:
    auth = await state(AuthState)
    await run(AuthState.check_email, auth, "not-an-email")
    assert auth.email_error
    await run(AuthState.check_email, auth, "ada@example.com")
    assert auth.email_error == ""


async def test_login_hands_the_browsers_ip_to_the_api_client(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, url="/login", client_ip="198.51.100.23")
    await run(AuthState.login, auth, {"email": "ada@example.com", "password": "s3cret-pass"})
    assert fake_api.called("login")
    assert fake_api.client_ips == ["198.51.100.23"]
