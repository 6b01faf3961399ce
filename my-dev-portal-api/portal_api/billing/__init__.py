"""Billing: local mirror of Stripe customers and subscriptions."""
