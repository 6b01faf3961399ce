"""AuthState: signing up and in, inline validation, the API's messages, the session guard."""

from __future__ import annotations

import reflex as rx
from reflex_base.utils import format

from my_dev_portal import routes
from my_dev_portal.api_client import ApiError
from my_dev_portal.state.auth import COOKIES_NEEDED_MESSAGE, SIGNIN_FAILED_MESSAGE, AuthState
from tests.portal.fakes import (
    FakeApi,
    follow_sign_in,
    open_websocket,
    redirect_path,
    run,
    signing_in_redirect,
)


async def test_signup_hands_the_token_to_the_browser_cookie_and_goes_to_next(
    fake_api: FakeApi, state
) -> None:
    auth = await state(AuthState, url="/signup?next=/pricing")
    events = await run(
        AuthState.signup, auth, {"email": " ada@example.com ", "password": "s3cret-pass", "name": "Ada"}
    )
    assert fake_api.called("signup") == [("ada@example.com", "s3cret-pass", "Ada")]
    assert auth.user_email == "ada@example.com"
    assert not auth.submitting
    # Not signed in on this websocket yet: the token waits for /_session/establish to set the cookie.
    assert auth.session_token() == "" and not auth.signed_in
    assert await follow_sign_in(auth, events) == "/pricing"
    assert auth.session_token() == "tok_signup" and auth.signed_in


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
    assert redirect_path(events) is None


async def test_weak_password_message_lands_next_to_the_password(fake_api: FakeApi, state) -> None:
    fake_api.fail["signup"] = ApiError(422, "weak_password", "Password is too common.")
    auth = await state(AuthState)
    await run(AuthState.signup, auth, {"email": "ada@example.com", "password": "password123"})
    assert auth.password_error == "Password is too common."
    assert auth.form_error == ""


async def test_bad_credentials_are_reported_and_nothing_is_handed_off(
    fake_api: FakeApi, state, handoffs
) -> None:
    fake_api.fail["login"] = ApiError(401, "invalid_credentials", "Email or password is wrong.")
    auth = await state(AuthState, url="/login")
    events = await run(AuthState.login, auth, {"email": "ada@example.com", "password": "nope-nope"})
    assert auth.form_error == "Email or password is wrong."
    assert redirect_path(events) is None
    assert handoffs._entries == {}


async def test_login_follows_next_but_never_off_site(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, url="/login?next=//evil.example/x")
    events = await run(AuthState.login, auth, {"email": "ada@example.com", "password": "whatever"})
    assert await follow_sign_in(auth, events) == "/dashboard"
    assert auth.session_token() == "tok_login"


async def test_login_keeps_the_token_server_side_under_a_one_time_code(
    fake_api: FakeApi, state, handoffs
) -> None:
    auth = await state(AuthState, url="/login?next=/pricing")
    events = await run(AuthState.login, auth, {"email": "ada@example.com", "password": "whatever"})
    code, next_path = signing_in_redirect(events)
    assert next_path == "/pricing"
    # What reaches the browser is the code, never the token.
    assert "tok_login" not in (redirect_path(events) or "")
    handoff = await handoffs.take(code)
    assert handoff is not None and handoff.token == "tok_login"
    assert await handoffs.take(code) is None


async def test_login_without_the_browser_cookie_asks_for_cookies(fake_api: FakeApi, state, handoffs) -> None:
    auth = await state(AuthState, url="/login", browser="")
    events = await run(AuthState.login, auth, {"email": "ada@example.com", "password": "whatever"})
    assert redirect_path(events) is None
    assert auth.form_error == COOKIES_NEEDED_MESSAGE
    assert handoffs._entries == {}


async def test_a_refused_sign_in_is_explained_on_the_login_page(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, url=routes.login_with_next("/dashboard", signin_failed=True))
    assert await run(AuthState.redirect_if_signed_in, auth) == []
    assert auth.form_error == SIGNIN_FAILED_MESSAGE


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


async def test_expired_session_is_forgotten_its_cookie_cleared_and_user_sent_to_login(
    fake_api: FakeApi, state
) -> None:
    fake_api.fail["me"] = ApiError(401, "unauthorized", "Session expired.")
    auth = await state(AuthState, url="/dashboard", token="tok_old")
    events = await run(AuthState.require_login, auth)
    # The cookie is still on this websocket, but the state no longer uses it.
    assert auth.session_token() == "" and not auth.signed_in
    assert redirect_path(events) == routes.signing_out_then("/login?next=/dashboard")


async def test_a_dead_cookie_on_a_public_page_is_ignored_from_then_on(fake_api: FakeApi, state) -> None:
    fake_api.fail["me"] = ApiError(401, "unauthorized", "Session expired.")
    auth = await state(AuthState, url="/pricing", token="tok_old")
    assert await run(AuthState.load_user, auth) == []
    assert not auth.signed_in
    await run(AuthState.load_user, auth)
    assert len(fake_api.called("me")) == 1


async def test_login_page_forwards_a_signed_in_user(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, url="/login?next=/pricing", token="tok_abc")
    assert redirect_path(await run(AuthState.redirect_if_signed_in, auth)) == "/pricing"


async def test_logout_tells_the_api_and_has_the_cookie_cleared(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, token="tok_abc")
    auth.user_id = "usr_1"
    events = await run(AuthState.logout, auth)
    assert fake_api.called("logout") == [()]
    assert fake_api.tokens == ["tok_abc"]
    assert (auth.session_token(), auth.user_id) == ("", "")
    assert redirect_path(events) == routes.signing_out_then("/") == "/signing-out?next=%2F"


async def test_signing_in_again_after_logout_uses_the_new_cookie(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, url="/dashboard", token="tok_abc")
    await run(AuthState.logout, auth)
    open_websocket(auth, "/login?next=/dashboard")
    events = await run(AuthState.login, auth, {"email": "ada@example.com", "password": "whatever"})
    await follow_sign_in(auth, events)
    assert auth.session_token() == "tok_login"
    assert await run(AuthState.require_login, auth) == []
    # The login already told the state who this is: no /me after the reload.
    assert fake_api.called("me") == []


async def test_user_fields_of_a_session_signed_out_in_another_tab_are_dropped(
    fake_api: FakeApi, state
) -> None:
    auth = await state(AuthState, url="/dashboard", token="tok_abc")
    await run(AuthState.require_login, auth)
    assert auth.user_id == "usr_1"
    # Reloaded after another tab signed out: the websocket has no session cookie any more.
    open_websocket(auth, "/pricing")
    await run(AuthState.load_user, auth)
    assert (auth.user_id, auth.user_email, auth.signed_in) == ("", "", False)


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


async def test_the_token_is_in_no_var_and_in_nothing_sent_to_the_browser(fake_api: FakeApi, state) -> None:
    token = "tok_secret_0123456789"
    auth = await state(AuthState, url="/dashboard", token=token)
    await run(AuthState.require_login, auth)
    assert auth.signed_in and auth.user_id == "usr_1" and fake_api.tokens == [token]
    # No field AuthState declares holds it, client-visible or backend-only (those hold fingerprints).
    fields = set(AuthState.get_fields()) - set(rx.State.get_fields())
    assert {"user_id", "_user_session", "_dropped_session"} <= fields
    assert all(token not in str(getattr(auth, name)) for name in fields)
    assert not isinstance(AuthState.__dict__.get("token"), rx.Cookie | rx.LocalStorage | rx.SessionStorage)
    # What Reflex sends: the whole state on hydrate, the delta after an event (router headers included).
    root = auth._get_root_state()
    assert auth.router.headers.cookie  # the server side does have it
    assert token not in format.json_dumps(root.dict())
    assert token not in format.json_dumps(await root._get_resolved_delta())
