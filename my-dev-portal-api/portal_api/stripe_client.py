"""The Stripe gateway: the only module that imports `stripe`; pinned API version, derived idempotency keys.

`StripeGateway` wraps one `stripe.StripeClient` for one key, API version and base URL (`GatewayOptions`), so
the emulator and real Stripe differ only in configuration. The portal gets its gateways from the billing
provider's StripeConnection (billing_provider/connection.py), the one Stripe configuration. Every method is
async, returns plain dicts, and turns SDK errors into PortalError subclasses. Every POST carries an
idempotency key derived from what the call does (see the `*_idempotency_key` functions), never a random one.
Every call first checks that the calling task holds no database transaction (core/transactions.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar, cast

import stripe
import structlog
from pydantic import SecretStr

from portal_api.config import Settings
from portal_api.core.metrics import count_stripe_error
from portal_api.core.transactions import check_no_transaction
from portal_api.errors import Conflict, NotFound, PortalError, Unprocessable, UpstreamError
from portal_api.protection.json_limits import InvalidJson, JsonTooDeep, decode_json

log = structlog.get_logger(__name__)

T = TypeVar("T")

BASIL = "2025-03-31.basil"
PAGE_SIZE = 100
# Stripe's default: a signature older than this is refused (replay protection).
WEBHOOK_TOLERANCE_SECONDS = 300
# A Checkout Session may legitimately differ per click, but a double click, a browser retry or our own retry
# after a timeout should reuse the one already made: same user, price and customer within this window (or the
# same client-supplied attempt id) gives the same session. An open session stays usable for 24 h anyway.
CHECKOUT_IDEMPOTENCY_WINDOW_SECONDS = 600
# Billing portal sessions and invoice previews are short-lived reads/URLs; a minute of reuse is harmless.
SHORT_IDEMPOTENCY_WINDOW_SECONDS = 60


# Stripe object ids are letters, digits and underscores. The SDK puts an id into the URL path as given, so
# anything else ("../customers/cus_1", a newline) would reach another endpoint or break the request (502).
STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")


def checked_id(what: str, object_id: str) -> str:
    """`object_id` if it can be a Stripe id; otherwise the answer Stripe gives for an unknown one."""
    if not STRIPE_ID.fullmatch(object_id):
        raise NotFound(f"No such {what}", code="not_found")
    return object_id


class WebhookSignatureInvalid(PortalError):
    status, code = 400, "invalid_signature"
    message = "The Stripe-Signature header is missing or does not match"


class StripeAuthFailed(UpstreamError):
    code = "stripe_auth_failed"
    message = "The billing provider rejected our API credentials; the operator must check STRIPE_API_KEY"


def is_basil_or_later(api_version: str) -> bool:
    """Versions are ordered by their date part (`2025-03-31.basil` -> `2025-03-31`)."""
    return api_version[:10] >= BASIL[:10]


def time_bucket(seconds: int, now: float | None = None) -> int:
    return int((time.time() if now is None else now) // seconds)


def checkout_window(now: float | None = None) -> str:
    """The current checkout idempotency window, used when the client sends no Idempotency-Key."""
    return str(time_bucket(CHECKOUT_IDEMPOTENCY_WINDOW_SECONDS, now))


def customer_idempotency_key(user_id: str, *, replaces: str | None = None) -> str:
    """One Stripe customer per user; after a customer was deleted the replacement gets its own key."""
    return f"customer:{user_id}" if replaces is None else f"customer:{user_id}:replaces:{replaces}"


def meter_test_customer_idempotency_key(*, replaces: str | None = None) -> str:
    """One Meter Test customer per Stripe account; one more after it was deleted (or the key moved to another
    account, where the old id does not exist)."""
    return "meter_test_customer" if replaces is None else f"meter_test_customer:replaces:{replaces}"


def meter_test_subscription_idempotency_key(customer_id: str, price_id: str, earlier: int) -> str:
    """`earlier` counts the customer's subscriptions to the price Stripe already has (ended ones included),
    so a retry reuses the subscription being made and a replacement of an ended one is a new one."""
    return f"meter_test_subscription:{customer_id}:{price_id}:{earlier}"


def checkout_idempotency_key(user_id: str, price_id: str, customer_id: str, attempt: str) -> str:
    """`attempt` distinguishes deliberate new sessions: a client-supplied Idempotency-Key or the current
    window (see CHECKOUT_IDEMPOTENCY_WINDOW_SECONDS), which the checkout service prefixes with a count of
    the user's subscriptions."""
    return f"checkout:{user_id}:{price_id}:{customer_id}:{attempt}"


def billing_portal_idempotency_key(customer_id: str, return_url: str, now: float | None = None) -> str:
    url_digest = hashlib.sha256(return_url.encode()).hexdigest()[:16]
    return f"billing_portal:{customer_id}:{url_digest}:{time_bucket(SHORT_IDEMPOTENCY_WINDOW_SECONDS, now)}"


def invoice_preview_idempotency_key(customer_id: str, subscription_id: str, now: float | None = None) -> str:
    bucket = time_bucket(SHORT_IDEMPOTENCY_WINDOW_SECONDS, now)
    return f"invoice_preview:{customer_id}:{subscription_id}:{bucket}"


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]


def change_preview_idempotency_key(
    subscription_id: str, item_id: str, price_id: str, proration_behavior: str, now: float | None = None
) -> str:
    bucket = time_bucket(SHORT_IDEMPOTENCY_WINDOW_SECONDS, now)
    return f"change_preview:{subscription_id}:{_digest(item_id, price_id, proration_behavior)}:{bucket}"


def subscription_change_idempotency_key(
    subscription_id: str,
    item_id: str,
    from_price: str,
    to_price: str,
    proration_behavior: str,
    proration_date: int | None,
    generation: str,
    attempt: str | None = None,
) -> str:
    """One price change of one subscription state: the same change of the same state (a double click, the
    SDK's retry, the client's retry with its Idempotency-Key `attempt`) is one request to Stripe. `generation`
    is our mirror's version of the subscription (it moves with every change we sync), so changing back and
    forth is a new request each time; `proration_date` is the previewed moment the change is billed as of."""
    digest = _digest(
        item_id, from_price, to_price, proration_behavior, proration_date, generation, attempt or ""
    )
    return f"subscription_change:{subscription_id}:{digest}"


def cancel_at_period_end_idempotency_key(
    subscription_id: str, cancel: bool, generation: str, attempt: str | None = None
) -> str:
    """Cancel at period end (`cancel`) or resume, once per subscription state (see the change's key)."""
    action = "cancel" if cancel else "resume"
    return f"subscription_{action}:{subscription_id}:{_digest(generation, attempt or '')}"


def as_dict(obj: Any) -> dict[str, Any]:
    """An SDK object (or list) as plain nested dicts and lists."""
    if obj is None:
        return {}
    if isinstance(obj, dict) and not isinstance(obj, stripe.StripeObject):
        return obj
    return cast(dict[str, Any], obj.to_dict(for_json=True))


def preview_proration_date(invoice: dict[str, Any]) -> int | None:
    """The moment an invoice preview prorated a proposed change as of (before basil on the invoice, from
    basil in parent.subscription_details)."""
    value = invoice.get("subscription_proration_date")
    if value is None:
        details = (invoice.get("parent") or {}).get("subscription_details") or {}
        value = details.get("subscription_proration_date")
    return int(value) if value is not None else None


def normalize_subscription(subscription: dict[str, Any]) -> dict[str, Any]:
    """Put `current_period_start/end` on the subscription whatever the API version.

    Before basil they are on the subscription; from basil on they are on each item. Items of one
    subscription share the billing period unless intervals are mixed; then the widest span is taken.
    """
    items = (subscription.get("items") or {}).get("data") or []
    if subscription.get("current_period_start") is None:
        starts = [i["current_period_start"] for i in items if i.get("current_period_start") is not None]
        subscription["current_period_start"] = min(starts) if starts else None
    if subscription.get("current_period_end") is None:
        ends = [i["current_period_end"] for i in items if i.get("current_period_end") is not None]
        subscription["current_period_end"] = max(ends) if ends else None
    return subscription


@dataclass(frozen=True)
class GatewayOptions:
    """What one StripeGateway talks to: key, pinned version, base URL ("" = Stripe) and call limits."""

    api_key: SecretStr
    api_version: str
    api_base: str = ""
    timeout_seconds: float = 20.0
    max_retries: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayOptions:
        """The STRIPE_* environment values (tests, and the seed of the stored configuration)."""
        return cls(
            api_key=settings.stripe_api_key,
            api_version=settings.stripe_api_version,
            api_base=settings.stripe_api_base,
            timeout_seconds=settings.stripe_timeout_seconds,
            max_retries=settings.stripe_max_retries,
        )


class StripeGateway:
    """Async Stripe calls for the portal with one key and one pinned API version."""

    def __init__(self, options: GatewayOptions) -> None:
        # The SDK logs request and error details at INFO; Stripe's auth error echoes part of the key.
        logging.getLogger("stripe").setLevel(logging.WARNING)
        self.options = options
        self.api_version = options.api_version
        base_addresses: dict[str, str] = {}
        if options.api_base:
            base_addresses = {
                "api": options.api_base.rstrip("/"),
                "meter_events": options.api_base.rstrip("/"),
            }
        self._http = stripe.HTTPXClient(timeout=options.timeout_seconds)
        self._client = stripe.StripeClient(
            options.api_key.get_secret_value(),
            stripe_version=self.api_version,
            base_addresses=cast(Any, base_addresses),
            max_network_retries=options.max_retries,
            http_client=self._http,
        )

    @property
    def basil(self) -> bool:
        return is_basil_or_later(self.api_version)

    async def aclose(self) -> None:
        await self._http.close_async()

    # -- prices and plans -------------------------------------------------------------------------------

    async def retrieve_price(self, price_id: str) -> dict[str, Any]:
        checked_id("price", price_id)
        price = await self._call(
            "price",
            lambda: self._client.v1.prices.retrieve_async(price_id, params={"expand": ["product", "tiers"]}),
        )
        return as_dict(price)

    async def list_plans(self) -> list[dict[str, Any]]:
        """Active recurring prices whose product is active, product expanded, every page."""
        plans: list[dict[str, Any]] = []
        starting_after: str | None = None
        while True:
            params: dict[str, Any] = {
                "active": True,
                "type": "recurring",
                "limit": PAGE_SIZE,
                "expand": ["data.product", "data.tiers"],
            }
            if starting_after:
                params["starting_after"] = starting_after
            page = as_dict(await self._call("prices", self._list_prices(params)))
            data = page.get("data") or []
            for price in data:
                product = price.get("product")
                if not isinstance(product, dict) or not product.get("active", True) or product.get("deleted"):
                    continue
                if price.get("active") and price.get("recurring"):
                    plans.append(price)
            if not page.get("has_more") or not data:
                return plans
            starting_after = data[-1]["id"]

    def _list_prices(self, params: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
        return lambda: self._client.v1.prices.list_async(cast(Any, params))

    # -- customers --------------------------------------------------------------------------------------

    async def create_customer(
        self, *, user_id: str, email: str, name: str | None = None, replaces: str | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"email": email, "metadata": {"user_id": user_id}}
        if name:
            params["name"] = name
        key = customer_idempotency_key(user_id, replaces=replaces)
        customer = await self._call(
            "customer",
            lambda: self._client.v1.customers.create_async(
                cast(Any, params), options={"idempotency_key": key}
            ),
        )
        return as_dict(customer)

    async def create_meter_test_customer(
        self, *, user_id: str, name: str, replaces: str | None = None
    ) -> dict[str, Any]:
        """The Meter Test's own customer (no email: Stripe sends it nothing), marked in its metadata."""
        params: dict[str, Any] = {
            "name": name,
            "description": "Made by the developer portal's Meter Test; bills no one (test mode only)",
            "metadata": {"user_id": user_id, "portal_meter_test": "true"},
        }
        key = meter_test_customer_idempotency_key(replaces=replaces)
        customer = await self._call(
            "customer",
            lambda: self._client.v1.customers.create_async(
                cast(Any, params), options={"idempotency_key": key}
            ),
        )
        return as_dict(customer)

    async def find_customer_by_email(self, email: str) -> dict[str, Any] | None:
        """The newest customer with exactly this email (Stripe's list filter is case-sensitive), or None."""
        page = as_dict(
            await self._call(
                "customers", lambda: self._client.v1.customers.list_async({"email": email, "limit": 10})
            )
        )
        found = [c for c in page.get("data") or [] if not c.get("deleted")]
        return max(found, key=lambda c: c.get("created") or 0) if found else None

    async def retrieve_customer(self, customer_id: str) -> dict[str, Any]:
        """The customer; a deleted one comes back as {"id", "deleted": true}."""
        checked_id("customer", customer_id)
        customer = await self._call("customer", lambda: self._client.v1.customers.retrieve_async(customer_id))
        return as_dict(customer)

    # -- checkout, subscriptions, portal ----------------------------------------------------------------

    async def create_checkout_session(
        self,
        *,
        user_id: str,
        customer_id: str,
        price_id: str,
        metered: bool,
        success_url: str,
        cancel_url: str,
        attempt: str | None = None,
    ) -> dict[str, Any]:
        line_item: dict[str, Any] = {"price": price_id}
        if not metered:  # metered prices take no quantity; Stripe rejects one
            line_item["quantity"] = 1
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": customer_id,
            "line_items": [line_item],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": user_id,
            "metadata": {"user_id": user_id},
        }
        key = checkout_idempotency_key(user_id, price_id, customer_id, attempt or checkout_window())
        session = await self._call(
            "checkout session",
            lambda: self._client.v1.checkout.sessions.create_async(
                cast(Any, params), options={"idempotency_key": key}
            ),
        )
        return as_dict(session)

    async def retrieve_checkout_session(self, checkout_session_id: str) -> dict[str, Any]:
        checked_id("checkout session", checkout_session_id)
        session = await self._call(
            "checkout session",
            lambda: self._client.v1.checkout.sessions.retrieve_async(
                checkout_session_id, params={"expand": ["customer", "subscription", "line_items"]}
            ),
        )
        result = as_dict(session)
        if isinstance(result.get("subscription"), dict):
            normalize_subscription(result["subscription"])
        return result

    async def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        """The subscription with items.data.price.product expanded and period fields on the subscription."""
        checked_id("subscription", subscription_id)
        subscription = await self._call(
            "subscription",
            lambda: self._client.v1.subscriptions.retrieve_async(
                subscription_id, params={"expand": ["items.data.price.product"]}
            ),
        )
        return normalize_subscription(as_dict(subscription))

    async def update_subscription(
        self, subscription_id: str, params: dict[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """POST /v1/subscriptions/{id}; answers like retrieve_subscription (product expanded, periods)."""
        checked_id("subscription", subscription_id)
        body = {**params, "expand": ["items.data.price.product"]}
        subscription = await self._call(
            "subscription",
            lambda: self._client.v1.subscriptions.update_async(
                subscription_id, cast(Any, body), options={"idempotency_key": idempotency_key}
            ),
        )
        return normalize_subscription(as_dict(subscription))

    async def subscriptions_with_price(self, customer_id: str, price_id: str) -> list[dict[str, Any]]:
        """The customer's subscriptions (ended ones included) that have `price_id`, newest first."""
        params: dict[str, Any] = {
            "customer": checked_id("customer", customer_id),
            "price": checked_id("price", price_id),
            "status": "all",
            "limit": PAGE_SIZE,
        }
        page = as_dict(
            await self._call(
                "subscriptions", lambda: self._client.v1.subscriptions.list_async(cast(Any, params))
            )
        )
        found = [normalize_subscription(dict(s)) for s in page.get("data") or []]
        return sorted(found, key=lambda s: s.get("created") or 0, reverse=True)

    async def create_meter_test_subscription(
        self, *, customer_id: str, price_id: str, earlier: int
    ) -> dict[str, Any]:
        """A subscription of the Meter Test's customer to the meter's price alone (a metered price: nothing
        is due at the start, so no payment method is needed), marked in its metadata."""
        params: dict[str, Any] = {
            "customer": customer_id,
            "items": [{"price": price_id}],
            "metadata": {"portal_meter_test": "true"},
            "expand": ["items.data.price.product"],
        }
        key = meter_test_subscription_idempotency_key(customer_id, price_id, earlier)
        subscription = await self._call(
            "subscription",
            lambda: self._client.v1.subscriptions.create_async(
                cast(Any, params), options={"idempotency_key": key}
            ),
        )
        return normalize_subscription(as_dict(subscription))

    async def change_subscription_price(
        self,
        subscription_id: str,
        *,
        item_id: str,
        price_id: str,
        metered: bool,
        proration_behavior: str,
        proration_date: int | None,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Swap the price of the subscription's item `item_id` (Stripe keeps the item and its id)."""
        params: dict[str, Any] = {
            "items": [_swap_item(item_id, price_id, metered)],
            "proration_behavior": proration_behavior,
        }
        if proration_date is not None and proration_behavior != "none":
            params["proration_date"] = proration_date
        return await self.update_subscription(subscription_id, params, idempotency_key=idempotency_key)

    async def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool, *, idempotency_key: str
    ) -> dict[str, Any]:
        """Cancel at the end of the period (True) or take that back (False)."""
        return await self.update_subscription(
            subscription_id, {"cancel_at_period_end": cancel}, idempotency_key=idempotency_key
        )

    async def preview_subscription_change(
        self,
        customer_id: str,
        subscription_id: str,
        *,
        item_id: str,
        price_id: str,
        metered: bool,
        proration_behavior: str,
    ) -> dict[str, Any]:
        """The invoice a price swap leads to, prorated as of now (Stripe says when: see
        `preview_proration_date`): create_preview with subscription_details from basil on, the upcoming
        invoice with subscription_items before."""
        item = _swap_item(item_id, price_id, metered)
        if self.basil:
            key = change_preview_idempotency_key(subscription_id, item_id, price_id, proration_behavior)
            invoice = await self._call(
                "invoice preview",
                lambda: self._client.v1.invoices.create_preview_async(
                    cast(
                        Any,
                        {
                            "customer": customer_id,
                            "subscription": subscription_id,
                            "subscription_details": {
                                "items": [item],
                                "proration_behavior": proration_behavior,
                            },
                        },
                    ),
                    options={"idempotency_key": key},
                ),
            )
            return as_dict(invoice)
        return await self.raw(
            "get",
            "/v1/invoices/upcoming",
            {
                "customer": customer_id,
                "subscription": subscription_id,
                "subscription_items": [item],
                "subscription_proration_behavior": proration_behavior,
            },
        )

    async def create_billing_portal_session(
        self, customer_id: str, return_url: str, flow_data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A customer portal session; `flow_data` deep-links into a flow (subscription_update...)."""
        key = billing_portal_idempotency_key(customer_id, return_url)
        params: dict[str, Any] = {"customer": customer_id, "return_url": return_url}
        if flow_data is not None:
            params["flow_data"] = flow_data
            key = f"{key}:{_digest(json.dumps(flow_data, sort_keys=True))}"
        portal = await self._call(
            "billing portal session",
            lambda: self._client.v1.billing_portal.sessions.create_async(
                cast(Any, params), options={"idempotency_key": key}
            ),
        )
        return as_dict(portal)

    async def upcoming_invoice(self, customer_id: str, subscription_id: str) -> dict[str, Any]:
        """The next invoice of a subscription: create_preview from basil on, /v1/invoices/upcoming before."""
        if self.basil:
            key = invoice_preview_idempotency_key(customer_id, subscription_id)
            invoice = await self._call(
                "invoice preview",
                lambda: self._client.v1.invoices.create_preview_async(
                    {"customer": customer_id, "subscription": subscription_id},
                    options={"idempotency_key": key},
                ),
            )
            return as_dict(invoice)
        return await self.raw(
            "get", "/v1/invoices/upcoming", {"customer": customer_id, "subscription": subscription_id}
        )

    # -- anything else ----------------------------------------------------------------------------------

    async def raw(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Any endpoint the SDK no longer wraps (legacy usage records...). POSTs need an idempotency key."""
        method = method.lower()
        if method == "post" and not idempotency_key:
            raise ValueError("every POST to Stripe needs a deterministic idempotency key")
        extra: dict[str, Any] = dict(params or {})
        if idempotency_key:
            extra["idempotency_key"] = idempotency_key
        response = await self._call(path, lambda: self._client.raw_request_async(method, path, **extra))
        return cast(dict[str, Any], response.data)

    # -- error mapping ----------------------------------------------------------------------------------

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        check_no_transaction(f"Stripe call ({what})")
        try:
            return await call()
        except stripe.StripeError as exc:
            raise_portal_error(what, exc)


def _swap_item(item_id: str, price_id: str, metered: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"id": item_id, "price": price_id}
    if not metered:  # a metered price takes no quantity; Stripe rejects one
        item["quantity"] = 1
    return item


def construct_event(payload: bytes, signature_header: str | None, secrets: Sequence[str]) -> dict[str, Any]:
    """Verify a webhook delivery against any of `secrets` (the current signing secret and, during a
    rotation, the previous one) and parse it. Pure: no network."""
    if not signature_header:
        raise WebhookSignatureInvalid("The Stripe-Signature header is missing")
    if not secrets:
        raise WebhookSignatureInvalid()
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature_header, secret, WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError:
            continue
        break
    else:
        raise WebhookSignatureInvalid()
    try:
        event = decode_json(payload)
    except (InvalidJson, JsonTooDeep) as exc:
        raise PortalError(
            f"The webhook body is not a JSON event: {exc.message}", code="invalid_payload"
        ) from None
    if not isinstance(event, dict):
        raise PortalError("The webhook body is not a Stripe event object", code="invalid_payload")
    return event


def raise_portal_error(what: str, exc: stripe.StripeError) -> NoReturn:
    """Turn an SDK error into a PortalError; never pass the API key (or Stripe's echo of it) along."""
    status = exc.http_status
    count_stripe_error(type(exc).__name__)
    log.warning(
        "stripe_error",
        resource=what,
        error_type=type(exc).__name__,
        http_status=status,
        stripe_code=exc.code,
        request_id=exc.request_id,
    )
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        raise StripeAuthFailed() from None
    if isinstance(exc, stripe.IdempotencyError):
        raise Conflict(
            f"A different request for this {what} is already being processed; try again",
            code="stripe_idempotency_conflict",
        ) from exc
    if isinstance(exc, stripe.InvalidRequestError):
        if exc.code == "resource_missing" or status == 404:
            raise NotFound(f"No such {what}", code="not_found") from exc
        raise Unprocessable(
            f"Stripe rejected the {what} request: {exc.user_message}", code="stripe_invalid_request"
        ) from exc
    if isinstance(exc, stripe.RateLimitError):
        raise UpstreamError("The billing provider is rate limiting us; try again shortly") from exc
    if isinstance(exc, stripe.CardError):
        raise PortalError(f"The card was declined: {exc.user_message}", code="card_declined") from exc
    raise UpstreamError() from exc
