"""Idempotency-Key handling: replay the first response for the same request, refuse a different one."""

import hashlib
from typing import Any

from stripe_emulator.errors import idempotency
from stripe_emulator.store import Store

RETENTION = 24 * 3600


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def lookup(store: Store, key: str, print_: str) -> dict[str, Any] | None:
    """The stored response for ``key`` if the request matches it; an idempotency_error if it does not."""
    record = store.idempotency.get(key)
    if record is None:
        return None
    if store.clock.now() - record["created"] > RETENTION:
        del store.idempotency[key]
        return None
    if record["fingerprint"] != print_:
        raise idempotency(
            "Keys for idempotent requests can only be used with the same parameters they were first used "
            f"with. Try using a key other than '{key}' if you meant to execute a different request."
        )
    return record


def remember(store: Store, key: str, print_: str, status: int, body: str) -> None:
    now = store.clock.now()
    store.idempotency[key] = {"fingerprint": print_, "status": status, "body": body, "created": now}
    if len(store.idempotency) % 5000 == 0:
        expired = [k for k, r in store.idempotency.items() if now - r["created"] > RETENTION]
        for k in expired:
            del store.idempotency[k]
