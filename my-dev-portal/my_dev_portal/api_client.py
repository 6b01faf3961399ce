"""Typed httpx client for the portal API; the only module that knows the API's URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from my_dev_portal import api_models
from my_dev_portal.config import get_settings

# The admin console lists this many customers at most (the API's page limit).
MAX_CUSTOMERS = 200
# Seconds a Meter Test may take: it may make its test customer and subscription in Stripe, ingests an event,
# reports usage to Stripe and fetches an invoice preview.
METER_TEST_TIMEOUT = 60.0
# Seconds a "Report now" may take: the reporter sends every closed hour still unreported (with retries).
REPORT_NOW_TIMEOUT = 120.0


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


# The portal's names for the API's response models. api_models.py is generated from the API's OpenAPI
# (scripts/generate_api_models.py), so a field the API adds, drops or retypes shows up there and in mypy.
User = api_models.UserOut
AuthResult = api_models.AuthResponse
Tier = api_models.Tier
TransformQuantity = api_models.TransformQuantity
Plan = api_models.Plan
CheckoutSession = api_models.CheckoutSessionOut
Customer = api_models.CheckoutCustomerOut
SubscriptionItem = api_models.ItemOut
CompletedSubscription = api_models.ProvisionedSubscriptionOut
KeySecret = api_models.NewKeyOut
CheckoutCompletion = api_models.CheckoutCompleted
SubscriptionPlan = api_models.PlanRef
Subscription = api_models.SubscriptionOut
PlanChangePreview = api_models.PlanChangePreviewOut
PlanChangeLine = api_models.PreviewLineOut
ApiKey = api_models.KeyOut
CreatedKey = api_models.KeyCreated
UsagePoint = api_models.SeriesPoint
MeterUsage = api_models.MeterUsage
Usage = api_models.UsageReport
InvoiceLine = api_models.StripeInvoiceLine
StripeUpcoming = api_models.StripeInvoicePreview
EstimateLine = api_models.EstimateLine
Estimate = api_models.Estimate
UpcomingInvoice = api_models.UpcomingInvoiceOut
# Admin console.
WebhookActivity = api_models.WebhookActivity
BillingProvider = api_models.BillingProviderOut
Meter = api_models.MeterOut
MeterCoverage = api_models.MeterCoverage
UnbilledPrice = api_models.UnbilledPrice
MeterCheck = api_models.Check
MeterTestOurs = api_models.OurSide
MeterTestStripe = api_models.StripeSide
MeterTestResult = api_models.MeterTestOut
MeterTestEvent = api_models.SyntheticEventOut
MeterTestEventResult = api_models.MeterTestEventOut
CustomerSubscription = api_models.CustomerSubscriptionOut
CustomerMeterUsage = api_models.MeterUsageOut
UsageReportRow = api_models.ReportOut
AdminCustomer = api_models.ReportingCustomerOut
CustomerList = api_models.CustomerList
AdminCustomerDetail = api_models.CustomerDetail
ReportRun = api_models.ReportRunOut
ReportRunList = api_models.ReportRunList
AdminHealth = api_models.AdminHealth
CollectorToken = api_models.CollectorTokenOut
CollectorTokenCreated = api_models.CollectorTokenCreated

# What an admin API token may do: admin = every admin and console route, verify = POST /v1/keys/verify,
# ingest = POST /v1/usage/events. A gateway needs verify + ingest only.
# How Stripe bills a plan switch for the rest of the period (the API's `proration`).
Proration = Literal["create_prorations", "none", "always_invoice"]
TokenScope = Literal["admin", "verify", "ingest"]
TOKEN_SCOPES: tuple[TokenScope, ...] = ("admin", "verify", "ingest")
# What the API gives a new token when it is not told.
DEFAULT_TOKEN_SCOPES: tuple[TokenScope, ...] = ("verify", "ingest")


AdminToken = api_models.AdminTokenOut
AdminTokenCreated = api_models.AdminTokenCreated


_Model = TypeVar("_Model", bound=BaseModel)


def parse(model: type[_Model], body: Any) -> _Model:
    """`body` read as `model`; a body of another shape is the API's error, not a crash in a handler."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the body"
        raise ApiError(
            502,
            "unexpected_response",
            f"The portal API answered in a shape this portal does not know ({where}: {first['msg']}).",
        ) from exc


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
    async def preview_plan_change(
        self, price_id: str, proration: Proration = "create_prorations"
    ) -> PlanChangePreview: ...
    async def change_plan(
        self, price_id: str, preview_token: str | None = None, proration: Proration = "create_prorations"
    ) -> Subscription: ...
    async def cancel_subscription(self) -> Subscription: ...
    async def resume_subscription(self) -> Subscription: ...
    async def billing_portal(self, flow: str | None = None) -> str: ...
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
    async def meter_coverage(self) -> MeterCoverage: ...
    async def create_meter(self, body: dict[str, Any]) -> Meter: ...
    async def update_meter(self, meter_id: str, body: dict[str, Any]) -> Meter: ...
    async def delete_meter(self, meter_id: str) -> None: ...
    async def meter_test_event(self, meter_id: str) -> MeterTestEventResult: ...
    async def test_meter(self, meter_id: str, event: dict[str, Any] | None = None) -> MeterTestResult: ...
    async def customers(self) -> CustomerList: ...
    async def customer(self, user_id: str) -> AdminCustomerDetail: ...
    async def report_runs(self) -> ReportRunList: ...
    async def report_now(self, meter_id: str | None = None) -> ReportRun: ...
    async def admin_tokens(self) -> list[AdminToken]: ...
    async def create_admin_token(
        self, name: str, scopes: list[TokenScope] | None = None
    ) -> AdminTokenCreated: ...
    async def update_admin_token_scopes(self, token_id: str, scopes: list[TokenScope]) -> AdminToken: ...
    async def revoke_admin_token(self, token_id: str) -> None: ...
    async def collector_tokens(self) -> list[CollectorToken]: ...
    async def create_collector_token(self, name: str) -> CollectorTokenCreated: ...
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
        return parse(AuthResult, await self._json("POST", "/v1/auth/signup", json=body))

    async def login(self, email: str, password: str) -> AuthResult:
        body = {"email": email, "password": password}
        return parse(AuthResult, await self._json("POST", "/v1/auth/login", json=body))

    async def logout(self) -> None:
        await self._request("POST", "/v1/auth/logout")

    async def me(self) -> User:
        return parse(User, await self._json("GET", "/v1/me"))

    async def plans(self) -> list[Plan]:
        return parse(api_models.PlanList, await self._json("GET", "/v1/plans")).data

    async def create_checkout_session(self, price_id: str) -> CheckoutSession:
        body = await self._json("POST", "/v1/checkout/sessions", json={"price_id": price_id})
        return parse(CheckoutSession, body)

    async def complete_checkout_session(self, checkout_session_id: str) -> CheckoutCompletion:
        path = f"/v1/checkout/sessions/{quote(checkout_session_id, safe='')}/complete"
        return parse(CheckoutCompletion, await self._json("POST", path))

    async def subscription(self) -> Subscription | None:
        body = await self._json_or_none("GET", "/v1/subscription")
        return None if body is None else parse(Subscription, body)

    async def preview_plan_change(
        self, price_id: str, proration: Proration = "create_prorations"
    ) -> PlanChangePreview:
        """Stripe's proration for switching to `price_id`, and the token that makes the switch bill it."""
        body = {"price_id": price_id, "proration": proration}
        answer = await self._json("POST", "/v1/subscription/change/preview", json=body)
        return parse(PlanChangePreview, answer)

    async def change_plan(
        self, price_id: str, preview_token: str | None = None, proration: Proration = "create_prorations"
    ) -> Subscription:
        body: dict[str, Any] = {"price_id": price_id, "proration": proration}
        if preview_token:
            body["preview_token"] = preview_token
        return parse(Subscription, await self._json("POST", "/v1/subscription/change", json=body))

    async def cancel_subscription(self) -> Subscription:
        """Cancel at the end of the current period."""
        return parse(Subscription, await self._json("POST", "/v1/subscription/cancel"))

    async def resume_subscription(self) -> Subscription:
        return parse(Subscription, await self._json("POST", "/v1/subscription/resume"))

    async def billing_portal(self, flow: str | None = None) -> str:
        """Stripe's billing portal; `flow="subscription_update"` opens it on switching plans."""
        kwargs: dict[str, Any] = {"json": {"flow": flow}} if flow else {}
        answer = await self._json("POST", "/v1/billing-portal", **kwargs)
        return parse(api_models.BillingPortalOut, answer).url

    async def keys(self) -> list[ApiKey]:
        return parse(api_models.KeyList, await self._json("GET", "/v1/keys")).data

    async def create_key(self, name: str) -> CreatedKey:
        return parse(CreatedKey, await self._json("POST", "/v1/keys", json={"name": name}))

    async def rotate_key(self, key_id: str) -> CreatedKey:
        path = f"/v1/keys/{quote(key_id, safe='')}/rotate"
        return parse(CreatedKey, await self._json("POST", path))

    async def revoke_key(self, key_id: str) -> ApiKey:
        return parse(ApiKey, await self._json("DELETE", f"/v1/keys/{quote(key_id, safe='')}"))

    async def usage(
        self, start: datetime | None = None, end: datetime | None = None, granularity: str = "day"
    ) -> Usage | None:
        """Per meter: the series over [start, end) (default: the billing period) and the period's value."""
        params = {"granularity": granularity}
        if start is not None and end is not None:
            params |= {"from": start.isoformat(), "to": end.isoformat()}
        body = await self._json_or_none("GET", "/v1/usage", params=params)
        return None if body is None else parse(Usage, body)

    async def upcoming_invoice(self) -> UpcomingInvoice | None:
        body = await self._json_or_none("GET", "/v1/invoices/upcoming")
        return None if body is None else parse(UpcomingInvoice, body)

    async def admin_health(self) -> AdminHealth | None:
        body = await self._json_or_none("GET", "/v1/admin/health")
        return None if body is None else parse(AdminHealth, body)

    async def billing_provider(self) -> BillingProvider:
        return parse(BillingProvider, await self._json("GET", "/v1/admin/billing-provider"))

    async def update_billing_provider(self, changes: dict[str, str | None]) -> BillingProvider:
        return parse(BillingProvider, await self._json("PUT", "/v1/admin/billing-provider", json=changes))

    async def meters(self) -> list[Meter]:
        return parse(api_models.MeterList, await self._json("GET", "/v1/admin/meters")).data

    async def meter_coverage(self) -> MeterCoverage:
        """Metered prices no active meter bills (never billed), and prices more than one does."""
        return parse(MeterCoverage, await self._json("GET", "/v1/admin/meters/coverage"))

    async def create_meter(self, body: dict[str, Any]) -> Meter:
        return parse(Meter, await self._json("POST", "/v1/admin/meters", json=body))

    async def update_meter(self, meter_id: str, body: dict[str, Any]) -> Meter:
        path = f"/v1/admin/meters/{quote(meter_id, safe='')}"
        return parse(Meter, await self._json("PATCH", path, json=body))

    async def delete_meter(self, meter_id: str) -> None:
        await self._request("DELETE", f"/v1/admin/meters/{quote(meter_id, safe='')}")

    async def meter_test_event(self, meter_id: str) -> MeterTestEventResult:
        """The synthetic call the Meter Test would send: one the meter's filters accept (or why none can)."""
        path = f"/v1/admin/meters/{quote(meter_id, safe='')}/test-event"
        return parse(MeterTestEventResult, await self._json("GET", path))

    async def test_meter(self, meter_id: str, event: dict[str, Any] | None = None) -> MeterTestResult:
        """Run the Meter Test; `event` replaces the one the API derives from the meter's filters."""
        path = f"/v1/admin/meters/{quote(meter_id, safe='')}/test"
        body = {"event": event} if event is not None else {}
        # Meter Test sends a synthetic event, runs the reporter and asks Stripe for a preview: allow for it.
        response = await self._request(
            "POST", path, json=body, timeout=max(self._timeout, METER_TEST_TIMEOUT)
        )
        return parse(MeterTestResult, response.json())

    async def customers(self) -> CustomerList:
        body = await self._json("GET", "/v1/admin/customers", params={"limit": MAX_CUSTOMERS})
        return parse(CustomerList, body)

    async def customer(self, user_id: str) -> AdminCustomerDetail:
        path = f"/v1/admin/customers/{quote(user_id, safe='')}"
        return parse(AdminCustomerDetail, await self._json("GET", path))

    async def report_runs(self) -> ReportRunList:
        return parse(ReportRunList, await self._json("GET", "/v1/admin/report-runs"))

    async def report_now(self, meter_id: str | None = None) -> ReportRun:
        """One run of the usage reporter now, answered when it ends (409 while another one runs)."""
        body = {"meter_id": meter_id} if meter_id else {}
        timeout = max(self._timeout, REPORT_NOW_TIMEOUT)
        response = await self._request("POST", "/v1/admin/report-runs", json=body, timeout=timeout)
        return parse(ReportRun, response.json())

    async def admin_tokens(self) -> list[AdminToken]:
        body = await self._json("GET", "/v1/admin/tokens")
        return [parse(AdminToken, item) for item in body["data"]]

    async def create_admin_token(
        self, name: str, scopes: list[TokenScope] | None = None
    ) -> AdminTokenCreated:
        """A new token; without `scopes` the API gives it DEFAULT_TOKEN_SCOPES."""
        request: dict[str, Any] = {"name": name}
        if scopes is not None:
            request["scopes"] = scopes
        return parse(AdminTokenCreated, await self._json("POST", "/v1/admin/tokens", json=request))

    async def update_admin_token_scopes(self, token_id: str, scopes: list[TokenScope]) -> AdminToken:
        path = f"/v1/admin/tokens/{quote(token_id, safe='')}"
        return parse(AdminToken, await self._json("PATCH", path, json={"scopes": scopes}))

    async def revoke_admin_token(self, token_id: str) -> None:
        await self._request("DELETE", f"/v1/admin/tokens/{quote(token_id, safe='')}")

    async def collector_tokens(self) -> list[CollectorToken]:
        body = await self._json("GET", "/v1/admin/collector-tokens")
        return parse(api_models.CollectorTokenList, body).data

    async def create_collector_token(self, name: str) -> CollectorTokenCreated:
        body = await self._json("POST", "/v1/admin/collector-tokens", json={"name": name})
        return parse(CollectorTokenCreated, body)

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
