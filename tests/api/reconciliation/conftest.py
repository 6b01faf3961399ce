"""Reconciliation tests run the app against the stripe-emulator (see tests/api/checkout/flow.py)."""

from tests.api.checkout.flow import settings, stripe_sdk

__all__ = ["settings", "stripe_sdk"]
