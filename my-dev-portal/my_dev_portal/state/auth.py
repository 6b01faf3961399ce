"""Signing up, in and out; holds the API session token that every other State borrows."""

from __future__ import annotations

import contextlib
import re

import reflex as rx
from reflex.event import EventSpec

from my_dev_portal import api_client, routes
from my_dev_portal.api_client import ApiError, PortalApi
from my_dev_portal.config import get_settings

# Loose on purpose: the API has the last word, this only catches typos before a round trip.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The API's default minimum; it has the last word either way.
MIN_PASSWORD_LENGTH = 10
SESSION_MAX_AGE = 7 * 24 * 3600


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
    """The signed-in user and the API session token, which a cookie keeps across reloads."""

    # Sent by the Reflex backend as `Authorization: Bearer`; the browser itself never calls the API.
    # Reflex writes cookies from JavaScript, so this one cannot be HttpOnly: see my-dev-portal/README.md.
    token: str = rx.Cookie(
        "",
        name="portal_session",
        max_age=SESSION_MAX_AGE,
        same_site="strict",
        secure=get_settings().PORTAL_URL.lower().startswith("https://"),
    )
    user_id: str = ""
    user_email: str = ""
    user_name: str = ""
    # Shows the admin console link; the API checks admin rights on every admin call regardless.
    is_admin: bool = False

    email_error: str = ""
    password_error: str = ""
    form_error: str = ""
    submitting: bool = False

    @rx.var
    def signed_in(self) -> bool:
        return bool(self.token)

    def api(self) -> PortalApi:
        """The API client, with this user's session token and browser IP (for the API's rate limits)."""
        return api_client.make_client(self.token, client_ip=self.router.session.client_ip)

    def _next_path(self) -> str:
        return routes.safe_next(self.router.url.query_parameters.get("next"))

    def _current_path(self) -> str:
        url = self.router.url
        return url.path + (f"?{url.query}" if url.query else "")

    def _forget(self) -> None:
        self.token = ""
        self.user_id = self.user_email = self.user_name = ""
        self.is_admin = False

    def session_expired(self) -> EventSpec:
        """Forget the token the API no longer accepts and send the user to log in again."""
        self._forget()
        return rx.redirect(routes.login_with_next(self._current_path()))

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
        self._sign_in(result)
        yield rx.redirect(self._next_path())

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
        self._sign_in(result)
        yield rx.redirect(self._next_path())

    def _sign_in(self, result: api_client.AuthResult) -> None:
        self.token = result.token
        self._remember(result.user)

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
        if self.token:
            # Signing out locally matters more than telling the API.
            with contextlib.suppress(ApiError):
                await self.api().logout()
        self._forget()
        return rx.redirect(routes.LANDING)

    @rx.event
    def redirect_if_signed_in(self):
        """On /login and /signup: someone already signed in goes straight on."""
        self._clear_errors()
        self.submitting = False
        if self.token:
            return rx.redirect(self._next_path())
        return None

    @rx.event
    async def require_login(self):
        """Guard of protected pages: no valid session -> /login?next=<this page>."""
        if not self.token:
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
        if not self.token or self.user_id:
            return
        try:
            user = await self.api().me()
        except ApiError as exc:
            if exc.status == 401:
                self._forget()
            return
        self._remember(user)
