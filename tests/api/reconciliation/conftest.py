"""Reconciliation tests run the app against the stripe-emulator (see tests/api/checkout/flow.py)."""

from tests.api.checkout.flow import catalog, settings, stripe_sdk

__all__ = ["catalog", "settings", "stripe_sdk"]
