"""The emulator's composition root: store, webhook dispatcher, faults, stats and the configured endpoints."""

import hashlib
import secrets
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stripe_emulator.billing import advance_all
from stripe_emulator.clock import Clock
from stripe_emulator.faults import Faults
from stripe_emulator.resources.webhook_endpoints import create_endpoint
from stripe_emulator.seed import seed_demo
from stripe_emulator.store import Store
from stripe_emulator.versions import DEFAULT_VERSION
from stripe_emulator.webhooks import DEFAULT_RETRY_DELAYS, Dispatcher

REQUEST_LOG_SIZE = 10_000


@dataclass
class EndpointConfig:
    """A webhook endpoint from the CLI / env / create_app; an empty url only records signed deliveries."""

    url: str = ""
    secret: str | None = None
    enabled_events: list[str] = field(default_factory=lambda: ["*"])
    api_version: str | None = None


class Emulator:
    def __init__(
        self,
        *,
        state_file: str | None = None,
        api_version: str = DEFAULT_VERSION,
        endpoints: list[EndpointConfig] | None = None,
        seed: str | None = None,
        seed_mode: str = "classic",
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        self.store = Store(Clock(), state_file=None, api_version=api_version)
        self.store.state_file = state_file
        self.dispatcher = Dispatcher(self.store, retry_delays)
        self.faults = Faults()
        self.stats: Counter[str] = Counter()
        self.request_log: deque[dict[str, str]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.endpoints = endpoints or []
        for config in self.endpoints:
            config.secret = config.secret or f"whsec_{secrets.token_hex(16)}"
        self.seed_mode = seed_mode
        if state_file and Path(state_file).exists():
            self.store.load(state_file)
            self._ensure_endpoints()
            return
        self.reset(seed=seed, seed_mode=seed_mode)

    def reset(self, *, seed: str | None = None, seed_mode: str | None = None) -> dict[str, Any] | None:
        """Forget everything (objects, clock offset, deliveries, faults, stats) and optionally seed."""
        self.store.reset()
        self.dispatcher.deliveries.clear()
        self.faults.clear()
        self.stats.clear()
        self.request_log.clear()
        self._ensure_endpoints()
        if seed and seed != "none":
            return self.seed(seed_mode or self.seed_mode)
        return None

    def seed(self, mode: str = "classic") -> dict[str, Any]:
        return seed_demo(self.store, mode)

    def _ensure_endpoints(self) -> None:
        present = {
            (e["url"], e["_secret"]) for e in self.store.all("webhook_endpoint") if e.get("_configured")
        }
        for config in self.endpoints:
            if (config.url, config.secret) not in present:
                create_endpoint(
                    self.store,
                    config.url,
                    list(config.enabled_events),
                    secret=config.secret,
                    api_version=config.api_version,
                    configured=True,
                )

    def advance_clock(self, seconds: int) -> int:
        now = self.store.clock.advance(seconds)
        advance_all(self.store)
        return now

    def count(self, method: str, path: str) -> None:
        self.stats[f"{method} {path}"] += 1

    def log_request(self, method: str, path: str, api_key: str) -> None:
        """Which key each request used (its last 4 characters and a digest, never the key itself)."""
        self.request_log.append(
            {
                "method": method,
                "path": path,
                "key_last4": api_key[-4:],
                "key_sha256": hashlib.sha256(api_key.encode()).hexdigest()[:16] if api_key else "",
            }
        )
