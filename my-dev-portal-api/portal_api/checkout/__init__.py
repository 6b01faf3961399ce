"""Checkout: session creation and the idempotent exchange of a completed session."""
