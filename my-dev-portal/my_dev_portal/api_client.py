"""Typed httpx client for the portal API; the only module that knows the API's URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import quote

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from my_dev_portal.config import get_settings

# The admin console lists this many customers at most (the API's page limit).
MAX_CUSTOMERS = 200
# Seconds a Meter Test may take: it ingests an event, reports usage to Stripe and fetches an invoice preview.
METER_TEST_TIMEOUT = 60.0


class ApiError(Exception):
    """The API answered with an error: `{"error": {"code", "message"}}`, or was unreachable (status 0)."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        # Extra facts the API adds, such as `path` ("filters.and[1].value") of a rejected field.
        self.details = details or {}

    @property
    def path(self) -> str:
        return str(self.details.get("path", ""))


class _Model(BaseModel):
    # The API may grow fields; the portal reads the ones it knows.
    model_config = ConfigDict(extra="ignore")


class User(_Model):
    id: str
    email: str
    name: str | None = None
    is_admin: bool = False


class AuthResult(_Model):
    user: User
    token: str


class Tier(_Model):
    up_to: int | None
    unit_amount: int | None = None
    flat_amount: int | None = None


class TransformQuantity(_Model):
    divide_by: int
    round: Literal["up", "down"] = "up"


class Plan(_Model):
    price_id: str
    product_id: str
    product_name: str
    product_description: str | None = None
    nickname: str | None = None
    currency: str
    unit_amount: int | None = None
    billing_scheme: Literal["per_unit", "tiered"] = "per_unit"
    tiers: list[Tier] | None = None
    tiers_mode: Literal["graduated", "volume"] | None = None
    transform_quantity: TransformQuantity | None = None
    interval: Literal["day", "week", "month", "year"] = "month"
    interval_count: int = 1
    usage_type: Literal["licensed", "metered"] = "licensed"
    aggregate_usage: str | None = None
    # Not in the API yet; lets a plan say what one unit is ("call", "token", ...).
    unit_label: str | None = None


class CheckoutSession(_Model):
    id: str
    url: str


class Customer(_Model):
    id: str
    email: str | None = None
    name: str | None = None


class SubscriptionItem(_Model):
    id: str
    price: Any = None
    product: Any = None


class CompletedSubscription(_Model):
    id: str
    status: str
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    items: list[SubscriptionItem] = []


class KeySecret(_Model):
    """A key with its secret: the API shows a secret in the one response that created it."""

    id: str
    name: str
    prefix: str
    secret: str


class CheckoutCompletion(_Model):
    customer: Customer | None = None
    subscription: CompletedSubscription | None = None
    keys_created: int = 0
    key: KeySecret | None = None


class SubscriptionPlan(_Model):
    price_id: str
    nickname: str | None = None
    product_name: str


class Subscription(_Model):
    id: str
    status: str
    plan: SubscriptionPlan
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False


class ApiKey(_Model):
    id: str
    name: str
    prefix: str
    created_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    status: str = "active"


class CreatedKey(ApiKey):
    secret: str


class UsagePoint(_Model):
    start: datetime
    value: float


class MeterUsage(_Model):
    meter_id: str
    name: str
    metric: str | None = None
    charge_by: str | None = None
    unit: str | None = None
    series: list[UsagePoint] = []
    period_start: datetime | None = None
    period_end: datetime | None = None
    period_value: float = 0
    estimated_amount: int | None = None
    currency: str | None = None


class Usage(_Model):
    meters: list[MeterUsage] = []


class InvoiceLine(_Model):
    """A line of Stripe's invoice preview."""

    description: str | None = None
    amount: int = 0
    quantity: float | None = None
    price_id: str | None = None


class StripeUpcoming(_Model):
    amount_due: int
    subtotal: int | None = None
    currency: str
    period_start: datetime | None = None
    period_end: datetime | None = None
    lines: list[InvoiceLine] = []


class EstimateLine(_Model):
    """Our estimate for one meter: its usage this period priced like Stripe prices it."""

    meter_id: str | None = None
    name: str = ""
    price_id: str | None = None
    quantity: float = 0
    amount: int | None = None


class Estimate(_Model):
    amount: int
    currency: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    lines: list[EstimateLine] = []


class UpcomingInvoice(_Model):
    stripe: StripeUpcoming | None = None
    estimate: Estimate | None = None


# --- Admin console -------------------------------------------------------------------------------------


class WebhookActivity(_Model):
    url: str
    signing_secret_set: bool = False
    last_received_at: datetime | None = None
    received_last_24h: int = 0
    arriving: bool = False


class BillingProvider(_Model):
    """The billing provider settings screen; secrets appear only as "set" and their last 4 characters."""

    provider: str = "stripe"
    source: str = "environment"
    secret_key_set: bool = False
    secret_key_last4: str | None = None
    mode: str | None = None
    publishable_key: str | None = None
    api_version: str = "2020-08-27"
    reporting: str | None = None
    webhook: WebhookActivity | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


class Meter(_Model):
    id: str
    name: str
    provider: str = "stripe"
    stripe_product_id: str = ""
    stripe_price_id: str
    price_nickname: str | None = None
    currency: str | None = None
    # The JSON filter tree ({"and"|"or": [...]} groups of {"field", "op", "value"}) or None for "every event".
    filters: Any = None
    metric: dict[str, Any] = {"type": "event_count"}
    charge_by: str = "sum_during_period"
    active: bool = True
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None


class MeterCheck(_Model):
    name: str
    ok: bool
    detail: str | None = None


class MeterTestOurs(_Model):
    usage_quantity: float | None = None
    reported_quantity: float | None = None
    amount: int | None = None


class MeterTestStripe(_Model):
    quantity: float | None = None
    amount: int | None = None
    amount_due: int | None = None


class MeterTestResult(_Model):
    """Meter Test: a synthetic event through metering and reporting, then our amount vs Stripe's preview."""

    # The API names it "pass".
    passed: bool = Field(validation_alias=AliasChoices("pass", "passed"))
    reason: str | None = None
    meter_id: str = ""
    price_id: str = ""
    api_version: str | None = None
    subscription_id: str | None = None
    subscription_item_id: str | None = None
    customer_id: str | None = None
    currency: str | None = None
    ours: MeterTestOurs | None = None
    stripe: MeterTestStripe | None = None
    # Stripe's amount minus ours, in minor units of `currency`.
    difference: int | None = None
    run_id: str | None = None
    checks: list[MeterCheck] = []


class CustomerSubscription(_Model):
    id: str
    status: str
    price_id: str | None = None
    plan_nickname: str | None = None
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None


class CustomerMeterUsage(_Model):
    meter_id: str
    name: str
    charge_by: str | None = None
    subscription_item_id: str | None = None
    usage_quantity: float = 0
    reported_quantity: float = 0
    unreported_reports: int = 0


class UsageReportRow(_Model):
    """One report of usage sent (or being sent) to Stripe for an hour."""

    id: int | str
    subscription_item_id: str | None = None
    meter_id: str | None = None
    hour: datetime | None = None
    revision: int = 0
    kind: str | None = None
    action: str | None = None
    quantity: float | None = None
    status: str = ""
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None


class AdminCustomer(_Model):
    user_id: str
    email: str
    name: str | None = None
    stripe_customer_id: str | None = None
    subscription: CustomerSubscription | None = None
    usage: list[CustomerMeterUsage] = []
    last_reports: list[UsageReportRow] = []


class CustomerList(_Model):
    data: list[AdminCustomer] = []
    total: int = 0


class AdminCustomerDetail(AdminCustomer):
    subscriptions: list[CustomerSubscription] = []


class ReportRun(_Model):
    id: str
    kind: str = "hourly"
    status: str
    api_version: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    planned: int = 0
    corrections: int = 0
    sent: int = 0
    failed: int = 0
    rejected: int = 0
    skipped: int = 0
    retries: int = 0
    lag_seconds: int | None = None
    errors: list[Any] = []


class ReportRunList(_Model):
    """Runs newest first, and the lag of the latest finished reporter run."""

    data: list[ReportRun] = []
    lag_seconds: int | None = None


class DependencyHealth(_Model):
    status: str = "ok"
    latency_ms: float | None = None
    reachable: bool | None = None
    error: str | None = None


class WebhookInboxHealth(_Model):
    pending: int = 0
    failed: int = 0
    last_received_at: datetime | None = None


class IngestHealth(_Model):
    events_last_hour: int = 0


class AdminHealth(_Model):
    """GET /v1/admin/health: the database, Stripe, the webhook inbox and ingest at a glance."""

    status: str
    database: DependencyHealth | None = None
    stripe: DependencyHealth | None = None
    webhook_inbox: WebhookInboxHealth | None = None
    ingest: IngestHealth | None = None


class AdminToken(_Model):
    id: str
    name: str
    prefix: str
    created_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class AdminTokenCreated(AdminToken):
    """A new admin API or collector token: the secret is in this one response only."""

    token: str


class PortalApi(Protocol):
    """What the portal asks of the API; State handlers depend on this, tests pass a fake."""

    async def signup(self, email: str, password: str, name: str | None = None) -> AuthResult: ...
    async def login(self, email: str, password: str) -> AuthResult: ...
    async def logout(self) -> None: ...
    async def me(self) -> User: ...
    async def plans(self) -> list[Plan]: ...
    async def create_checkout_session(self, price_id: str) -> CheckoutSession: ...
    async def complete_checkout_session(self, checkout_session_id: str) -> CheckoutCompletion: ...
    async def subscription(self) -> Subscription | None: ...
    async def billing_portal(self) -> str: ...
    async def keys(self) -> list[ApiKey]: ...
    async def create_key(self, name: str) -> CreatedKey: ...
    async def rotate_key(self, key_id: str) -> CreatedKey: ...
    async def revoke_key(self, key_id: str) -> ApiKey: ...
    async def usage(
        self, start: datetime | None = None, end: datetime | None = None, granularity: str = "day"
    ) -> Usage | None: ...
    async def upcoming_invoice(self) -> UpcomingInvoice | None: ...
    # Admin console (admin users only; 403 admin_only otherwise).
    async def admin_health(self) -> AdminHealth | None: ...
    async def billing_provider(self) -> BillingProvider: ...
    async def update_billing_provider(self, changes: dict[str, str | None]) -> BillingProvider: ...
    async def meters(self) -> list[Meter]: ...
    async def create_meter(self, body: dict[str, Any]) -> Meter: ...
    async def update_meter(self, meter_id: str, body: dict[str, Any]) -> Meter: ...
    async def delete_meter(self, meter_id: str) -> None: ...
    async def test_meter(self, meter_id: str) -> MeterTestResult: ...
    async def customers(self) -> CustomerList: ...
    async def customer(self, user_id: str) -> AdminCustomerDetail: ...
    async def report_runs(self) -> ReportRunList: ...
    async def admin_tokens(self) -> list[AdminToken]: ...
    async def create_admin_token(self, name: str) -> AdminTokenCreated: ...
    async def revoke_admin_token(self, token_id: str) -> None: ...
    async def collector_tokens(self) -> list[AdminToken]: ...
    async def create_collector_token(self, name: str) -> AdminTokenCreated: ...
    async def revoke_collector_token(self, token_id: str) -> None: ...


class HttpPortalApi:
    """PortalApi over HTTP, with the user's session token as a bearer token."""

    def __init__(
        self,
        base_url: str,
        token: str = "",
        *,
        client_ip: str = "",
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        # The browser's address, sent as X-Forwarded-For: the API rate-limits sign-ups and logins per client,
        # and without it every user would share the portal server's address (the API trusts it from loopback
        # by default, TRUSTED_PROXIES otherwise).
        self._client_ip = client_ip
        self._timeout = timeout
        self._transport = transport

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if self._client_ip:
            headers["X-Forwarded-For"] = self._client_ip
        try:
            async with httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout, transport=self._transport
            ) as client:
                response = await client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, "api_unreachable", "The portal API cannot be reached right now.") from exc
        if response.is_error:
            raise _error_from(response)
        return response

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self._request(method, path, **kwargs)).json()

    async def _json_or_none(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body, or None when the API says 404 (no such thing yet, or no such endpoint yet)."""
        try:
            return await self._json(method, path, **kwargs)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def signup(self, email: str, password: str, name: str | None = None) -> AuthResult:
        body: dict[str, str] = {"email": email, "password": password}
        if name:
            body["name"] = name
        return AuthResult.model_validate(await self._json("POST", "/v1/auth/signup", json=body))

    async def login(self, email: str, password: str) -> AuthResult:
        body = {"email": email, "password": password}
        return AuthResult.model_validate(await self._json("POST", "/v1/auth/login", json=body))

    async def logout(self) -> None:
        await self._request("POST", "/v1/auth/logout")

    async def me(self) -> User:
        return User.model_validate(await self._json("GET", "/v1/me"))

    async def plans(self) -> list[Plan]:
        body = await self._json("GET", "/v1/plans")
        return [Plan.model_validate(item) for item in body["data"]]

    async def create_checkout_session(self, price_id: str) -> CheckoutSession:
        body = await self._json("POST", "/v1/checkout/sessions", json={"price_id": price_id})
        return CheckoutSession.model_validate(body)

    async def complete_checkout_session(self, checkout_session_id: str) -> CheckoutCompletion:
        path = f"/v1/checkout/sessions/{quote(checkout_session_id, safe='')}/complete"
        return CheckoutCompletion.model_validate(await self._json("POST", path))

    async def subscription(self) -> Subscription | None:
        body = await self._json_or_none("GET", "/v1/subscription")
        return None if body is None else Subscription.model_validate(body)

    async def billing_portal(self) -> str:
        return str((await self._json("POST", "/v1/billing-portal"))["url"])

    async def keys(self) -> list[ApiKey]:
        body = await self._json("GET", "/v1/keys")
        return [ApiKey.model_validate(item) for item in body["data"]]

    async def create_key(self, name: str) -> CreatedKey:
        return CreatedKey.model_validate(await self._json("POST", "/v1/keys", json={"name": name}))

    async def rotate_key(self, key_id: str) -> CreatedKey:
        path = f"/v1/keys/{quote(key_id, safe='')}/rotate"
        return CreatedKey.model_validate(await self._json("POST", path))

    async def revoke_key(self, key_id: str) -> ApiKey:
        return ApiKey.model_validate(await self._json("DELETE", f"/v1/keys/{quote(key_id, safe='')}"))

    async def usage(
        self, start: datetime | None = None, end: datetime | None = None, granularity: str = "day"
    ) -> Usage | None:
        """Per meter: the series over [start, end) (default: the billing period) and the period's value."""
        params = {"granularity": granularity}
        if start is not None and end is not None:
            params |= {"from": start.isoformat(), "to": end.isoformat()}
        body = await self._json_or_none("GET", "/v1/usage", params=params)
        return None if body is None else Usage.model_validate(body)

    async def upcoming_invoice(self) -> UpcomingInvoice | None:
        body = await self._json_or_none("GET", "/v1/invoices/upcoming")
        return None if body is None else UpcomingInvoice.model_validate(body)

    async def admin_health(self) -> AdminHealth | None:
        body = await self._json_or_none("GET", "/v1/admin/health")
        return None if body is None else AdminHealth.model_validate(body)

    async def billing_provider(self) -> BillingProvider:
        return BillingProvider.model_validate(await self._json("GET", "/v1/admin/billing-provider"))

    async def update_billing_provider(self, changes: dict[str, str | None]) -> BillingProvider:
        body = await self._json("PUT", "/v1/admin/billing-provider", json=changes)
        return BillingProvider.model_validate(body)

    async def meters(self) -> list[Meter]:
        body = await self._json("GET", "/v1/admin/meters")
        return [Meter.model_validate(item) for item in body["data"]]

    async def create_meter(self, body: dict[str, Any]) -> Meter:
        return Meter.model_validate(await self._json("POST", "/v1/admin/meters", json=body))

    async def update_meter(self, meter_id: str, body: dict[str, Any]) -> Meter:
        path = f"/v1/admin/meters/{quote(meter_id, safe='')}"
        return Meter.model_validate(await self._json("PATCH", path, json=body))

    async def delete_meter(self, meter_id: str) -> None:
        await self._request("DELETE", f"/v1/admin/meters/{quote(meter_id, safe='')}")

    async def test_meter(self, meter_id: str) -> MeterTestResult:
        path = f"/v1/admin/meters/{quote(meter_id, safe='')}/test"
        # Meter Test sends a synthetic event, runs the reporter and asks Stripe for a preview: allow for it.
        response = await self._request("POST", path, json={}, timeout=max(self._timeout, METER_TEST_TIMEOUT))
        return MeterTestResult.model_validate(response.json())

    async def customers(self) -> CustomerList:
        body = await self._json("GET", "/v1/admin/customers", params={"limit": MAX_CUSTOMERS})
        return CustomerList.model_validate(body)

    async def customer(self, user_id: str) -> AdminCustomerDetail:
        path = f"/v1/admin/customers/{quote(user_id, safe='')}"
        return AdminCustomerDetail.model_validate(await self._json("GET", path))

    async def report_runs(self) -> ReportRunList:
        return ReportRunList.model_validate(await self._json("GET", "/v1/admin/report-runs"))

    async def admin_tokens(self) -> list[AdminToken]:
        body = await self._json("GET", "/v1/admin/tokens")
        return [AdminToken.model_validate(item) for item in body["data"]]

    async def create_admin_token(self, name: str) -> AdminTokenCreated:
        body = await self._json("POST", "/v1/admin/tokens", json={"name": name})
        return AdminTokenCreated.model_validate(body)

    async def revoke_admin_token(self, token_id: str) -> None:
        await self._request("DELETE", f"/v1/admin/tokens/{quote(token_id, safe='')}")

    async def collector_tokens(self) -> list[AdminToken]:
        body = await self._json("GET", "/v1/admin/collector-tokens")
        return [AdminToken.model_validate(item) for item in body["data"]]

    async def create_collector_token(self, name: str) -> AdminTokenCreated:
        body = await self._json("POST", "/v1/admin/collector-tokens", json={"name": name})
        return AdminTokenCreated.model_validate(body)

    async def revoke_collector_token(self, token_id: str) -> None:
        await self._request("DELETE", f"/v1/admin/collector-tokens/{quote(token_id, safe='')}")


def _error_from(response: httpx.Response) -> ApiError:
    """The API's own error code and message, so the user sees what the API said."""
    try:
        error = response.json()["error"]
        details = error.get("details")
        return ApiError(
            response.status_code,
            str(error["code"]),
            str(error["message"]),
            details if isinstance(details, dict) else None,
        )
    except (ValueError, KeyError, TypeError):
        pass
    try:
        # FastAPI's own validation errors: {"detail": [{"msg": ...}]} or {"detail": "..."}.
        detail = response.json()["detail"]
        if isinstance(detail, list):
            message = "; ".join(str(item.get("msg", item)) for item in detail)
        else:
            message = str(detail)
        return ApiError(response.status_code, "invalid_request", message)
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    reason = response.reason_phrase or "error"
    return ApiError(response.status_code, "http_error", f"The API answered {response.status_code} {reason}.")


def make_client(token: str = "", *, client_ip: str = "") -> PortalApi:
    """The API client State handlers use; tests replace this function to hand them a fake."""
    settings = get_settings()
    return HttpPortalApi(settings.API_URL, token, client_ip=client_ip, timeout=settings.API_TIMEOUT)
