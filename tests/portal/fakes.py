"""A fake PortalApi and helpers for driving Reflex State event handlers without a browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reflex.event import EventSpec
from reflex.istate.data import HeaderData, ReflexURL, RouterData, SessionData

from my_dev_portal import routes, session_cookie
from my_dev_portal.api_client import (
    DEFAULT_TOKEN_SCOPES,
    AdminCustomerDetail,
    AdminHealth,
    AdminToken,
    AdminTokenCreated,
    ApiError,
    ApiKey,
    AuthResult,
    BillingProvider,
    CheckoutCompletion,
    CheckoutSession,
    CollectorToken,
    CollectorTokenCreated,
    CreatedKey,
    CustomerList,
    Meter,
    MeterCoverage,
    MeterTestEventResult,
    MeterTestResult,
    Plan,
    PlanChangePreview,
    Proration,
    ReportRun,
    ReportRunList,
    Subscription,
    TokenScope,
    UpcomingInvoice,
    Usage,
    User,
)
from my_dev_portal.session_cookie import BROWSER_COOKIE, SESSION_COOKIE, fingerprint
from my_dev_portal.state.auth import AuthState
from tests.portal import api_objects

USER = api_objects.user()
ADMIN = api_objects.user(id="usr_admin", email="grace@example.com", name="Grace", is_admin=True)
TOKEN_CREATED_AT = datetime(2026, 11, 24, tzinfo=UTC)
# The browser id a portal page gives the browser before its websocket opens.
BROWSER_ID = "browser-id-of-this-test"


def _session_expiry() -> datetime:
    """A session that is still valid whenever the tests run."""
    return datetime.now(UTC) + timedelta(days=30)


def open_websocket(
    state: Any, url: str = "/", *, token: str = "", browser: str = BROWSER_ID, client_ip: str = ""
) -> None:
    """Give `state`'s tree the router data of a websocket opened on `url` with these cookies (a page load).

    Reflex reads the handshake's headers once per connection: a cookie set later reaches the state only
    with the next page load.
    """
    cookies = {BROWSER_COOKIE: browser, SESSION_COOKIE: token}
    header = "; ".join(f"{name}={value}" for name, value in cookies.items() if value)
    state = state._get_root_state() if hasattr(state, "_get_root_state") else state
    state.router = RouterData(
        url=ReflexURL(f"http://localhost:3000{url}"),
        session=SessionData(client_ip=client_ip),
        headers=HeaderData(cookie=header),
    )


class FakeApi:
    """PortalApi in memory: canned answers; `fail[method] = ApiError(...)` makes a call fail."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        # The browser IP each client was made for (sent to the API as X-Forwarded-For).
        self.client_ips: list[str] = []
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
        self.change_preview: PlanChangePreview = api_objects.plan_change_preview()
        self._next_key = 1
        # Admin console.
        self.provider: BillingProvider = api_objects.billing_provider()
        self.meter_list: list[Meter] = []
        self.health: AdminHealth | None = None
        self.test_result: MeterTestResult | None = None
        self.test_event: MeterTestEventResult = api_objects.meter_test_event()
        self.report_now_run: ReportRun = ReportRun.model_validate(api_objects.report_run(kind="manual"))
        self.customer_list: CustomerList = api_objects.customer_list()
        self.customer_detail: AdminCustomerDetail | None = None
        self.runs: ReportRunList = api_objects.report_runs()
        self.admin_token_list: list[AdminToken] = []
        self.collector_token_list: list[CollectorToken] = []
        self._next_meter = 1

    def _record(self, method: str, *args: Any) -> None:
        self.calls.append((method, args))
        if method in self.fail:
            raise self.fail[method]

    def called(self, method: str) -> list[tuple[Any, ...]]:
        return [args for name, args in self.calls if name == method]

    async def signup(self, email: str, password: str, name: str | None = None) -> AuthResult:
        self._record("signup", email, password, name)
        user = self.user.model_copy(update={"email": email, "name": name})
        return AuthResult(user=user, token="tok_signup", expires_at=_session_expiry())

    async def login(self, email: str, password: str) -> AuthResult:
        self._record("login", email, password)
        return AuthResult(user=self.user, token="tok_login", expires_at=_session_expiry())

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

    async def preview_plan_change(
        self, price_id: str, proration: Proration = "create_prorations"
    ) -> PlanChangePreview:
        self._record("preview_plan_change", price_id, proration)
        return self.change_preview.model_copy(update={"price_id": price_id})

    async def change_plan(
        self, price_id: str, preview_token: str | None = None, proration: Proration = "create_prorations"
    ) -> Subscription:
        self._record("change_plan", price_id, preview_token, proration)
        current = self.current_subscription or api_objects.subscription()
        plan = current.plan.model_copy(
            update={"price_id": price_id, "nickname": price_id.removeprefix("price_")}
        )
        self.current_subscription = current.model_copy(update={"plan": plan})
        return self.current_subscription

    def _cancellation(self, cancel: bool) -> Subscription:
        current = self.current_subscription or api_objects.subscription()
        self.current_subscription = current.model_copy(
            update={
                "cancel_at_period_end": cancel,
                "cancel_at": current.current_period_end if cancel else None,
            }
        )
        return self.current_subscription

    async def cancel_subscription(self) -> Subscription:
        self._record("cancel_subscription")
        return self._cancellation(True)

    async def resume_subscription(self) -> Subscription:
        self._record("resume_subscription")
        return self._cancellation(False)

    async def billing_portal(self, flow: str | None = None) -> str:
        self._record("billing_portal", *([flow] if flow else []))
        return self.portal_url

    async def keys(self) -> list[ApiKey]:
        self._record("keys")
        return list(self.key_list)

    def _new_key(self, name: str) -> CreatedKey:
        number = self._next_key
        self._next_key += 1
        key = api_objects.created_key(
            id=f"key_{number}",
            name=name,
            prefix=f"mdp_{number:04d}",
            secret=f"mdp_{number:04d}_secret",
            created_at=datetime(2026, 11, 24, tzinfo=UTC),
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

    async def usage(
        self, start: datetime | None = None, end: datetime | None = None, granularity: str = "day"
    ) -> Usage | None:
        self._record("usage", start, end, granularity)
        return self.usage_data

    async def upcoming_invoice(self) -> UpcomingInvoice | None:
        self._record("upcoming_invoice")
        return self.invoice

    # --- admin console -------------------------------------------------------------------------------------

    async def admin_health(self) -> AdminHealth | None:
        self._record("admin_health")
        return self.health

    async def billing_provider(self) -> BillingProvider:
        self._record("billing_provider")
        return self.provider

    async def update_billing_provider(self, changes: dict[str, str | None]) -> BillingProvider:
        self._record("update_billing_provider", changes)
        update: dict[str, Any] = {"source": "database"}
        if changes.get("secret_key"):
            update |= {"secret_key_set": True, "secret_key_last4": str(changes["secret_key"])[-4:]}
        if "publishable_key" in changes:
            update["publishable_key"] = changes["publishable_key"] or None
        if changes.get("api_version"):
            update["api_version"] = changes["api_version"]
        self.provider = self.provider.model_copy(update=update)
        return self.provider

    async def meters(self) -> list[Meter]:
        self._record("meters")
        return list(self.meter_list)

    async def meter_coverage(self) -> MeterCoverage:
        """As the API works it out: from the plans (the catalog) and the meters in this fake."""
        self._record("meter_coverage")
        active: dict[str, list[str]] = {}
        for meter in self.meter_list:
            if meter.active:
                active.setdefault(meter.stripe_price_id, []).append(meter.id)
        unbilled = [
            {
                "price_id": plan.price_id,
                "product_id": plan.product_id,
                "product_name": plan.product_name,
                "nickname": plan.nickname,
                "lookup_key": plan.lookup_key,
                "currency": plan.currency,
                "inactive_meter_ids": [
                    m.id for m in self.meter_list if m.stripe_price_id == plan.price_id and not m.active
                ],
            }
            for plan in self.plan_list
            if plan.usage_type == "metered" and plan.price_id not in active
        ]
        doubled = [
            {"price_id": price_id, "nickname": None, "meter_ids": ids}
            for price_id, ids in active.items()
            if len(ids) > 1
        ]
        return MeterCoverage.model_validate({"unbilled": unbilled, "double_metered": doubled})

    async def create_meter(self, body: dict[str, Any]) -> Meter:
        self._record("create_meter", body)
        meter = api_objects.meter(id=f"mtr_{self._next_meter}", **body)
        self._next_meter += 1
        self.meter_list.append(meter)
        return meter

    async def update_meter(self, meter_id: str, body: dict[str, Any]) -> Meter:
        self._record("update_meter", meter_id, body)
        index = next(i for i, meter in enumerate(self.meter_list) if meter.id == meter_id)
        self.meter_list[index] = self.meter_list[index].model_copy(update=body)
        return self.meter_list[index]

    async def delete_meter(self, meter_id: str) -> None:
        self._record("delete_meter", meter_id)
        self.meter_list = [meter for meter in self.meter_list if meter.id != meter_id]

    async def meter_test_event(self, meter_id: str) -> MeterTestEventResult:
        self._record("meter_test_event", meter_id)
        return self.test_event.model_copy(update={"meter_id": meter_id})

    async def test_meter(self, meter_id: str, event: dict[str, Any] | None = None) -> MeterTestResult:
        self._record("test_meter", meter_id, event)
        assert self.test_result is not None
        return self.test_result

    async def customers(self) -> CustomerList:
        self._record("customers")
        return self.customer_list

    async def customer(self, user_id: str) -> AdminCustomerDetail:
        self._record("customer", user_id)
        if self.customer_detail is None or self.customer_detail.user_id != user_id:
            raise ApiError(404, "customer_not_found", f"There is no customer {user_id}")
        return self.customer_detail

    async def report_runs(self) -> ReportRunList:
        self._record("report_runs")
        return self.runs

    async def report_now(self, meter_id: str | None = None) -> ReportRun:
        self._record("report_now", meter_id)
        return self.report_now_run

    async def admin_tokens(self) -> list[AdminToken]:
        self._record("admin_tokens")
        return list(self.admin_token_list)

    async def create_admin_token(
        self, name: str, scopes: list[TokenScope] | None = None
    ) -> AdminTokenCreated:
        self._record("create_admin_token", name, scopes)
        number = len(self.admin_token_list) + 1
        token = api_objects.admin_token(
            id=f"admin_{number}",
            name=name,
            prefix=f"mdp_admin_{number:04d}",
            created_at=TOKEN_CREATED_AT,
            scopes=list(DEFAULT_TOKEN_SCOPES if scopes is None else scopes),
        )
        self.admin_token_list.append(token)
        return AdminTokenCreated.model_validate(token.model_dump() | {"token": f"{token.prefix}_secret"})

    async def update_admin_token_scopes(self, token_id: str, scopes: list[TokenScope]) -> AdminToken:
        self._record("update_admin_token_scopes", token_id, scopes)
        token = next(token for token in self.admin_token_list if token.id == token_id)
        token.scopes = list(scopes)
        return token

    async def revoke_admin_token(self, token_id: str) -> None:
        self._record("revoke_admin_token", token_id)
        for token in self.admin_token_list:
            if token.id == token_id:
                token.revoked_at = datetime(2026, 11, 25, tzinfo=UTC)

    async def collector_tokens(self) -> list[CollectorToken]:
        self._record("collector_tokens")
        return list(self.collector_token_list)

    async def create_collector_token(self, name: str) -> CollectorTokenCreated:
        self._record("create_collector_token", name)
        number = len(self.collector_token_list) + 1
        token = api_objects.collector_token(
            id=f"collector_{number}",
            name=name,
            prefix=f"mdp_collector_{number:04d}",
            created_at=TOKEN_CREATED_AT,
        )
        self.collector_token_list.append(token)
        return CollectorTokenCreated.model_validate(token.model_dump() | {"token": f"{token.prefix}_secret"})

    async def revoke_collector_token(self, token_id: str) -> None:
        self._record("revoke_collector_token", token_id)
        for token in self.collector_token_list:
            if token.id == token_id:
                token.revoked_at = datetime(2026, 11, 25, tzinfo=UTC)


async def run(handler: Any, state: Any, *args: Any) -> list[Any]:
    """Run an event handler's function as Reflex would, collecting what it returns or yields."""
    result = handler.fn(state, *args)
    if hasattr(result, "__aiter__"):
        # Each yield may be one event or a list of them, as a return may.
        return [event async for item in result for event in _events(item)]
    if hasattr(result, "__await__"):
        result = await result
    return _events(result)


def _events(result: Any) -> list[Any]:
    if result is None:
        return []
    return [item for item in result if item is not None] if isinstance(result, list | tuple) else [result]


def redirect_path(events: list[Any]) -> str | None:
    """Where an `rx.redirect` among `events` sends the browser, or None."""
    for event in events:
        if isinstance(event, EventSpec) and event.handler.fn.__qualname__.startswith("_redirect"):
            args = {name._js_expr: getattr(value, "_var_value", None) for name, value in event.args}
            return str(args["path"])
    return None


def signing_in_redirect(events: list[Any]) -> tuple[str, str]:
    """The one-time code and the `next` path of the redirect to /signing-in among `events`."""
    url = urlsplit(redirect_path(events) or "")
    assert url.path == routes.SIGNING_IN, f"no redirect to {routes.SIGNING_IN}: {url.geturl()!r}"
    query = parse_qs(url.query)
    return query["code"][0], query["next"][0]


async def follow_sign_in(state: Any, events: list[Any], *, browser: str = BROWSER_ID) -> str:
    """What the browser does after a login: redeem the code as /_session/establish does, load `next` with
    the new cookie. Returns `next`."""
    code, next_path = signing_in_redirect(events)
    handoff = await session_cookie.handoffs().take(code)
    assert handoff is not None and handoff.belongs_to(browser)
    open_websocket(state, next_path, token=handoff.token, browser=browser)
    return next_path


async def signed_in_admin(page: Any) -> Any:
    """`page` (a State from the `state` fixture) with an admin signed in, as require_login leaves it."""
    auth = await page.get_state(AuthState)
    if not auth.session_token():
        url = page.router.url
        open_websocket(page, url.path + (f"?{url.query}" if url.query else ""), token="tok_admin")
    auth._user_session = fingerprint(auth.session_token())
    auth.user_id, auth.user_email, auth.is_admin = ADMIN.id, ADMIN.email, True
    return page
