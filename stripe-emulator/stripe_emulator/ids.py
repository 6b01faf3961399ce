"""Stripe-style object ids: a prefix and a random base62 tail."""

import secrets

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_id(prefix: str, length: int = 24) -> str:
    """Return e.g. ``cus_4Fq...``; 24 base62 characters carry ~142 bits."""
    value = secrets.randbits(6 * length)
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 62)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(chars)}"
