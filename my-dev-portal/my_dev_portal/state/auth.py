"""Signing up, in and out; reads the API session token, which every other State borrows, from its cookie."""

from __future__ import annotations

import contextlib
import re

import reflex as rx
from reflex.event import EventSpec

from my_dev_portal import api_client, routes, session_cookie
from my_dev_portal.api_client import ApiError, PortalApi
from my_dev_portal.session_cookie import BROWSER_COOKIE, SESSION_COOKIE, cookie_from_header, fingerprint

# Loose on purpose: the API has the last word, this only catches typos before a round trip.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The API's default minimum; it has the last word either way.
MIN_PASSWORD_LENGTH = 10
SIGNIN_FAILED_MESSAGE = (
    "Signing in did not finish: it took too long, or the link was opened in another browser. Log in again."
)
COOKIES_NEEDED_MESSAGE = "The portal signs you in with a cookie: allow cookies for it and reload the page."


def email_problem(email: str) -> str:
    if not email:
        return "Enter your email address."
    if not _EMAIL.match(email):
        return "Enter an email address like name@example.com."
    return ""


def password_problem(password: str, *, signing_up: bool) -> str:
    if not password:
        return "Enter your password." if not signing_up else "Choose a password."
    if signing_up and len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    return ""


class AuthState(rx.State):
    """The signed-in user. The API session token itself lives only in an HttpOnly cookie (session_cookie.py).

    The browser sends that cookie with the websocket handshake; `session_token()` reads it from the
    handshake's headers, which Reflex keeps on the server (it strips the Cookie header from the router data
    it sends to the browser). No var below holds the token, so it is in no state delta either.
    """

    user_id: str = ""
    user_email: str = ""
    user_name: str = ""
    # Shows the admin console link; the API checks admin rights on every admin call regardless.
    is_admin: bool = False

    email_error: str = ""
    password_error: str = ""
    form_error: str = ""
    submitting: bool = False

    # Backend-only (leading underscore), and fingerprints, not tokens: the session the user fields describe,
    # and one the API refused or that was signed out, until the browser has dropped its cookie.
    _user_session: str = ""
    _dropped_session: str = ""

    def session_token(self) -> str:
        """The API session token from the cookie the websocket was opened with; "" when signed out."""
        token = cookie_from_header(self.router.headers.cookie, SESSION_COOKIE)
        if not token or fingerprint(token) == self._dropped_session:
            return ""
        return token

    @rx.var
    def signed_in(self) -> bool:
        return bool(self.session_token())

    def api(self) -> PortalApi:
        """The API client, with this user's session token and browser IP (for the API's rate limits)."""
        return api_client.make_client(self.session_token(), client_ip=self.router.session.client_ip)

    def _next_path(self) -> str:
        return routes.safe_next(self.router.url.query_parameters.get("next"))

    def _current_path(self) -> str:
        url = self.router.url
        return url.path + (f"?{url.query}" if url.query else "")

    def _forget(self) -> None:
        self.user_id = self.user_email = self.user_name = ""
        self.is_admin = False
        self._user_session = ""

    def _sync_session(self) -> str:
        """The session token, after dropping user fields that describe another session (say, signed out)."""
        token = self.session_token()
        if (fingerprint(token) if token else "") != self._user_session:
            self._forget()
            self._user_session = fingerprint(token) if token else ""
        return token

    def _drop_session(self) -> None:
        """Treat the cookie's token as gone until the browser has been to SESSION_END to clear it."""
        if token := self.session_token():
            self._dropped_session = fingerprint(token)
        self._forget()

    def session_expired(self) -> EventSpec:
        """Forget the token the API no longer accepts, clear its cookie and send the user to log in again."""
        self._drop_session()
        return rx.redirect(routes.signing_out_then(routes.login_with_next(self._current_path())))

    def _clear_errors(self) -> None:
        self.email_error = self.password_error = self.form_error = ""

    @rx.event
    def check_email(self, email: str) -> None:
        """Inline validation when the email field loses focus."""
        self.email_error = email_problem(email.strip()) if email else ""

    @rx.event
    async def signup(self, form_data: dict[str, str]):
        self._clear_errors()
        email = form_data.get("email", "").strip()
        password = form_data.get("password", "")
        name = form_data.get("name", "").strip()
        self.email_error = email_problem(email)
        self.password_error = password_problem(password, signing_up=True)
        if self.email_error or self.password_error:
            return
        self.submitting = True
        yield
        try:
            result = await self.api().signup(email, password, name or None)
        except ApiError as exc:
            self._show_api_error(exc)
            return
        finally:
            self.submitting = False
        yield await self._sign_in(result)

    @rx.event
    async def login(self, form_data: dict[str, str]):
        self._clear_errors()
        email = form_data.get("email", "").strip()
        password = form_data.get("password", "")
        self.email_error = email_problem(email)
        self.password_error = password_problem(password, signing_up=False)
        if self.email_error or self.password_error:
            return
        self.submitting = True
        yield
        try:
            result = await self.api().login(email, password)
        except ApiError as exc:
            self._show_api_error(exc)
            return
        finally:
            self.submitting = False
        yield await self._sign_in(result)

    async def _sign_in(self, result: api_client.AuthResult) -> EventSpec | None:
        """Hand the new token to this browser's cookie: via /signing-in to SESSION_ESTABLISH, then `next`."""
        browser = cookie_from_header(self.router.headers.cookie, BROWSER_COOKIE)
        if not browser:
            # Pages set it before the websocket opens; without it the session cookie would not stick either.
            self.form_error = COOKIES_NEEDED_MESSAGE
            return None
        code = await session_cookie.hand_off(
            result.token, browser_cookie=browser, session_expires_at=result.expires_at
        )
        self._remember(result.user)
        # The user fields describe the session the browser is about to get: no second /me after the reload.
        self._user_session = fingerprint(result.token)
        return rx.redirect(routes.signing_in_with_code(code, self._next_path()))

    def _remember(self, user: api_client.User) -> None:
        self.user_id, self.user_email, self.user_name = user.id, user.email, user.name or ""
        self.is_admin = user.is_admin

    def _show_api_error(self, exc: ApiError) -> None:
        """The API's own message, next to the field it is about when that is clear."""
        if exc.status == 422 and "password" in exc.message.lower():
            self.password_error = exc.message
        elif exc.status == 422 and "email" in exc.message.lower():
            self.email_error = exc.message
        else:
            self.form_error = exc.message

    @rx.event
    async def logout(self):
        if self.session_token():
            # Signing out locally matters more than telling the API.
            with contextlib.suppress(ApiError):
                await self.api().logout()
        self._drop_session()
        return rx.redirect(routes.signing_out_then(routes.LANDING))

    @rx.event
    def redirect_if_signed_in(self):
        """On /login and /signup: someone already signed in goes straight on."""
        self._clear_errors()
        self.submitting = False
        if self.router.url.query_parameters.get(routes.SIGNIN_PROBLEM) == routes.SIGNIN_FAILED:
            self.form_error = SIGNIN_FAILED_MESSAGE
        if self._sync_session():
            return rx.redirect(self._next_path())
        return None

    @rx.event
    async def require_login(self):
        """Guard of protected pages: no valid session -> /login?next=<this page>."""
        if not self._sync_session():
            return rx.redirect(routes.login_with_next(self._current_path()))
        if self.user_id:
            return None
        try:
            user = await self.api().me()
        except ApiError as exc:
            if exc.status == 401:
                return self.session_expired()
            return None  # API down: the page shows its own error when it loads.
        self._remember(user)
        return None

    @rx.event
    async def load_user(self):
        """On public pages: learn who the cookie belongs to, without insisting on anyone."""
        if not self._sync_session() or self.user_id:
            return None
        try:
            user = await self.api().me()
        except ApiError as exc:
            if exc.status == 401:
                # A dead cookie: ignored from now on; logging in again replaces it.
                self._drop_session()
            return None
        self._remember(user)
        return None
