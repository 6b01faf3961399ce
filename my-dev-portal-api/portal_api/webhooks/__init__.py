"""Stripe webhooks: verify, store in the inbox, apply."""
