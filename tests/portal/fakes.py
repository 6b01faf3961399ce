"""A fake PortalApi and helpers for driving Reflex State event handlers without a browser."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reflex.event import EventSpec

from my_dev_portal.api_client import (
    ApiError,
    ApiKey,
    AuthResult,
    CheckoutCompletion,
    CheckoutSession,
    CreatedKey,
    Plan,
    Subscription,
    UpcomingInvoice,
    Usage,
    User,
)

USER = User(id="usr_1", email="ada@example.com", name="Ada", is_admin=False)


class FakeApi:
    """PortalApi in memory: canned answers; `fail[method] = ApiError(...)` makes a call fail."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.fail: dict[str, ApiError] = {}
        self.user = USER
        self.plan_list: list[Plan] = []
        self.checkout_url = "http://127.0.0.1:12111/checkout/cs_test_1"
        self.completion: CheckoutCompletion | None = None
        self.current_subscription: Subscription | None = None
        self.key_list: list[ApiKey] = []
        self.usage_data: Usage | None = None
        self.invoice: UpcomingInvoice | None = None
        self.portal_url = "http://127.0.0.1:12111/billing_portal/bps_1"
        self._next_key = 1

    def _record(self, method: str, *args: Any) -> None:
        self.calls.append((method, args))
        if method in self.fail:
            raise self.fail[method]

    def called(self, method: str) -> list[tuple[Any, ...]]:
        return [args for name, args in self.calls if name == method]

    async def signup(self, email: str, password: str, name: str | None = None) -> AuthResult:
        self._record("signup", email, password, name)
        return AuthResult(
            user=self.user.model_copy(update={"email": email, "name": name}), token="tok_signup"
        )

    async def login(self, email: str, password: str) -> AuthResult:
        self._record("login", email, password)
        return AuthResult(user=self.user, token="tok_login")

    async def logout(self) -> None:
        self._record("logout")

    async def me(self) -> User:
        self._record("me")
        return self.user

    async def plans(self) -> list[Plan]:
        self._record("plans")
        return self.plan_list

    async def create_checkout_session(self, price_id: str) -> CheckoutSession:
        self._record("create_checkout_session", price_id)
        return CheckoutSession(id="cs_test_1", url=self.checkout_url)

    async def complete_checkout_session(self, checkout_session_id: str) -> CheckoutCompletion:
        self._record("complete_checkout_session", checkout_session_id)
        assert self.completion is not None
        return self.completion

    async def subscription(self) -> Subscription | None:
        self._record("subscription")
        return self.current_subscription

    async def billing_portal(self) -> str:
        self._record("billing_portal")
        return self.portal_url

    async def keys(self) -> list[ApiKey]:
        self._record("keys")
        return list(self.key_list)

    def _new_key(self, name: str) -> CreatedKey:
        number = self._next_key
        self._next_key += 1
        key = CreatedKey(
            id=f"key_{number}",
            name=name,
            prefix=f"mdp_{number:04d}",
            secret=f"mdp_{number:04d}_secret",
            created_at=datetime(2026, 11, 24, tzinfo=UTC),
            status="active",
        )
        self.key_list.append(ApiKey.model_validate(key.model_dump(exclude={"secret"})))
        return key

    async def create_key(self, name: str) -> CreatedKey:
        self._record("create_key", name)
        return self._new_key(name)

    async def rotate_key(self, key_id: str) -> CreatedKey:
        self._record("rotate_key", key_id)
        old = next(key for key in self.key_list if key.id == key_id)
        old.status = "revoked"
        return self._new_key(old.name)

    async def revoke_key(self, key_id: str) -> ApiKey:
        self._record("revoke_key", key_id)
        key = next(key for key in self.key_list if key.id == key_id)
        key.status = "revoked"
        key.revoked_at = datetime(2026, 11, 25, tzinfo=UTC)
        return key

    async def usage(self, start: datetime, end: datetime, granularity: str = "day") -> Usage | None:
        self._record("usage", start, end, granularity)
        return self.usage_data

    async def upcoming_invoice(self) -> UpcomingInvoice | None:
        self._record("upcoming_invoice")
        return self.invoice


async def run(handler: Any, state: Any, *args: Any) -> list[Any]:
    """Run an event handler's function as Reflex would, collecting what it returns or yields."""
    result = handler.fn(state, *args)
    if hasattr(result, "__aiter__"):
        return [item async for item in result if item is not None]
    if hasattr(result, "__await__"):
        result = await result
    if result is None:
        return []
    return list(result) if isinstance(result, list | tuple) else [result]


def redirect_path(events: list[Any]) -> str | None:
    """Where an `rx.redirect` among `events` sends the browser, or None."""
    for event in events:
        if isinstance(event, EventSpec) and event.handler.fn.__qualname__.startswith("_redirect"):
            args = {name._js_expr: getattr(value, "_var_value", None) for name, value in event.args}
            return str(args["path"])
    return None
