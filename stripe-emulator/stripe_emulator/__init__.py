"""Stripe emulator."""
