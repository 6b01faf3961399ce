"""Reading Stripe invoice line items in every API version (price on the line before basil, pricing after)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from portal_api.stripe_client import StripeGateway


def line_price_id(line: dict[str, Any]) -> str | None:
    details = ((line.get("pricing") or {}).get("price_details") or {}).get("price")
    if details:
        return str(details["id"]) if isinstance(details, dict) else str(details)
    price = line.get("price")
    if isinstance(price, dict):
        return str(price.get("id")) if price.get("id") else None
    return str(price) if price else None


def line_subscription_item(line: dict[str, Any]) -> str | None:
    parent = (line.get("parent") or {}).get("subscription_item_details") or {}
    item = parent.get("subscription_item") or line.get("subscription_item")
    return str(item) if item else None


def line_quantity(line: dict[str, Any]) -> Decimal | None:
    for name in ("quantity_decimal", "quantity"):
        value = line.get(name)
        if value not in (None, ""):
            try:
                return Decimal(str(value))
            except InvalidOperation:
                continue
    return None


def invoice_lines(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    return list((invoice.get("lines") or {}).get("data") or [])


def find_line(invoice: dict[str, Any], *, subscription_item_id: str, price_id: str) -> dict[str, Any] | None:
    """The line billing this item (by item id, else by price)."""
    lines = invoice_lines(invoice)
    for line in lines:
        if line_subscription_item(line) == subscription_item_id:
            return line
    return next((line for line in lines if line_price_id(line) == price_id), None)


async def fresh_invoice_preview(
    gateway: StripeGateway, customer_id: str, subscription_id: str, *, nonce: str
) -> dict[str, Any]:
    """Stripe's upcoming invoice as of now. `StripeGateway.upcoming_invoice` reuses a preview for a minute
    (its idempotency key is per minute), too stale right after usage was reported; `nonce` makes this one new.
    """
    if not gateway.basil:
        return await gateway.upcoming_invoice(customer_id, subscription_id)
    return await gateway.raw(
        "post",
        "/v1/invoices/create_preview",
        {"customer": customer_id, "subscription": subscription_id},
        idempotency_key=f"invoice_preview:{customer_id}:{subscription_id}:{nonce}",
    )
