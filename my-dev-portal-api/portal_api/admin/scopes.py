"""Admin API token scopes: what each one allows, and parsing/rendering the stored form."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

Scope = Literal["admin", "verify", "ingest"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    "admin": "every admin route: billing provider, meters, customers, report runs, tokens",
    "verify": "POST /v1/keys/verify (a gateway checking customers' API keys)",
    "ingest": "POST /v1/usage/events (a gateway or collector sending usage)",
}
# What a token gets when nobody says otherwise (and what tokens made before scopes existed were given):
# enough for a gateway, nothing that changes the portal's configuration.
GATEWAY_SCOPES: tuple[Scope, ...] = ("verify", "ingest")


def parse_scopes(stored: str) -> frozenset[Scope]:
    return frozenset(scope for scope in stored.split() if scope in SCOPES)  # type: ignore[misc]


def render_scopes(scopes: Iterable[str]) -> str:
    """The stored form: known scopes, in SCOPES order, space-separated."""
    wanted = set(scopes)
    unknown = wanted.difference(SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}; known: {', '.join(SCOPES)}")
    return " ".join(scope for scope in SCOPES if scope in wanted)
