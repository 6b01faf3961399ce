"""Billing provider settings: the Stripe keys and API version the portal uses, stored encrypted."""
