"""Account rules: sign-up, login, password checks, session lifecycle, admin promotion."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts import login_throttle
from portal_api.accounts.models import AuthSession, User
from portal_api.config import Settings
from portal_api.db import Database, utcnow
from portal_api.errors import Conflict, Unauthorized, Unprocessable
from portal_api.security import Passwords, SessionTokens

COMMON_PASSWORDS = frozenset(
    {"password", "password1", "password123", "1234567890", "12345678910", "qwertyuiop", "letmein123"}
)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_password_strength(password: str, *, email: str, min_length: int) -> None:
    if len(password) < min_length:
        raise Unprocessable(f"Password must be at least {min_length} characters", code="weak_password")
    if password.lower() in COMMON_PASSWORDS or password.lower() == email.lower():
        raise Unprocessable("Password is too easy to guess", code="weak_password")
    if len(set(password)) < 4:
        raise Unprocessable("Password needs more different characters", code="weak_password")


async def signup(
    database: Database,
    settings: Settings,
    passwords: Passwords,
    *,
    email: str,
    password: str,
    name: str | None,
) -> tuple[User, AuthSession]:
    """A new account and its first sign-in session. The password is hashed before the write begins."""
    email = normalize_email(email)
    check_password_strength(password, email=email, min_length=settings.password_min_length)
    password_hash = await passwords.hash(password)
    try:
        async with database.write() as session:
            user = User(
                email=email,
                name=name.strip() if name else None,
                password_hash=password_hash,
                is_admin=email in settings.admin_emails,
            )
            session.add(user)
            await session.flush()
            auth = await start_session(session, settings, user)
    except IntegrityError as exc:
        raise Conflict("An account with this email already exists", code="email_taken") from exc
    return user, auth


async def login(
    database: Database,
    settings: Settings,
    passwords: Passwords,
    *,
    email: str,
    password: str,
    client_address: str,
) -> tuple[User, AuthSession]:
    """Check the login throttle, then the password (off the event loop, no transaction open), then start a
    session in one short write that re-checks the account did not change meanwhile."""
    email = normalize_email(email)
    now = utcnow()
    wait = await login_throttle.wait_before_attempt(database, email, client_address, now)
    if wait > 0:
        raise login_throttle.LoginBackoff(math.ceil(wait))
    async with database.read() as session:
        found = await session.scalar(select(User).where(User.email == email))
    known_hash = found.password_hash if found is not None else None
    if not await passwords.verify(known_hash, password) or found is None:
        await login_throttle.record_failure(database, email, client_address, utcnow())
        raise Unauthorized("Email or password is wrong", code="invalid_credentials")
    rehashed = await passwords.hash(password) if passwords.needs_rehash(found.password_hash) else None
    async with database.write() as session:
        user = await session.get(User, found.id)
        if user is None or user.password_hash != known_hash:
            raise Unauthorized("Email or password is wrong", code="invalid_credentials")
        if rehashed is not None:
            user.password_hash = rehashed
        if user.email in settings.admin_emails and not user.is_admin:
            user.is_admin = True
        auth = await start_session(session, settings, user)
        await login_throttle.record_success(session, email, client_address, utcnow())
    return user, auth


async def start_session(session: AsyncSession, settings: Settings, user: User) -> AuthSession:
    auth = AuthSession(
        id=SessionTokens.new_session_id(),
        user_id=user.id,
        expires_at=utcnow() + timedelta(hours=settings.session_ttl_hours),
    )
    session.add(auth)
    await session.flush()
    return auth


async def user_for_session(session: AsyncSession, session_id: str) -> User | None:
    row = await session.execute(
        select(User, AuthSession)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(
            AuthSession.id == session_id, AuthSession.revoked_at.is_(None), AuthSession.expires_at > utcnow()
        )
    )
    found = row.first()
    return found[0] if found else None


async def end_session(session: AsyncSession, session_id: str) -> None:
    auth = await session.get(AuthSession, session_id)
    if auth and auth.revoked_at is None:
        auth.revoked_at = utcnow()


async def ensure_admin(session: AsyncSession, *, email: str, password_hash: str, name: str = "Admin") -> User:
    """Create (or promote) the provider admin; used by `make run` seeding and ADMIN_BOOTSTRAP_*.

    Takes the hash, computed before the write began (Passwords.hash), so no lock is held while hashing.
    """
    email = normalize_email(email)
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, password_hash=password_hash, is_admin=True)
        session.add(user)
    else:
        user.is_admin = True
    await session.flush()
    return user
