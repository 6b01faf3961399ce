"""Run the emulator in a background uvicorn thread for tests, and drive its /_emulator controls.

with EmulatorServer(webhook_secret="whsec_test") as emulator:
    client = emulator.client(version="2020-08-27")
    session = client.v1.checkout.sessions.create({...})
    emulator.pay_checkout_session(session.id, email="a@example.com")
    emulator.advance_clock(days=31)
    deliveries = emulator.webhook_deliveries(type="invoice.paid")
"""

import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from stripe_emulator.app import create_app
from stripe_emulator.emulator import EndpointConfig
from stripe_emulator.versions import DEFAULT_VERSION

TEST_API_KEY = "sk_test_emulator"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmulatorControl:
    """Client for a running emulator's /_emulator routes (works for any emulator URL, e.g. the CLI's)."""

    def __init__(self, url: str, api_key: str = TEST_API_KEY) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self._http = httpx.Client(base_url=self.url, timeout=30.0)

    def client(self, version: str = DEFAULT_VERSION, **options: Any) -> Any:
        """A ``stripe.StripeClient`` pinned to ``version`` and pointed at this emulator."""
        import stripe

        options.setdefault("max_network_retries", 0)
        return stripe.StripeClient(
            self.api_key, stripe_version=version, base_addresses={"api": self.url}, **options
        )

    def _call(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        response = self._http.request(method, f"/_emulator{path}", json=json, params=params or None)
        response.raise_for_status()
        return response.json()

    def reset(self, seed: str | None = None, mode: str = "classic") -> dict[str, Any] | None:
        """Forget all state (objects, clock offset, deliveries, faults, stats); ``seed="demo"`` re-seeds."""
        return self._call("POST", "/reset", {"seed": seed, "mode": mode})["seeded"]  # type: ignore[no-any-return]

    def seed(self, mode: str = "classic") -> dict[str, Any]:
        """Create the demo catalog; returns ``{"product", "prices": {"free","payg","package"}, "meter"}``."""
        return self._call("POST", "/seed", {"mode": mode})  # type: ignore[no-any-return]

    def pay_checkout_session(
        self, session_id: str, email: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        return self._call(  # type: ignore[no-any-return]
            "POST", f"/checkout/sessions/{session_id}/pay", {"email": email, "name": name}
        )

    def set_subscription_status(self, subscription_id: str, status: str) -> dict[str, Any]:
        return self._call(  # type: ignore[no-any-return]
            "POST", f"/subscriptions/{subscription_id}/status", {"status": status}
        )

    def advance_clock(self, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> int:
        """Move the virtual clock forward (subscriptions roll over); returns the new virtual now."""
        body = {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds}
        return int(self._call("POST", "/clock/advance", body)["now"])

    def now(self) -> int:
        return int(self._call("GET", "/clock")["now"])

    def webhook_deliveries(self, **filters: str) -> list[dict[str, Any]]:
        """Recorded delivery attempts, oldest first; filters: type, event_id, endpoint, url."""
        return self._call("GET", "/webhook_deliveries", **filters)  # type: ignore[no-any-return]

    def wait_for_deliveries(self, count: int, timeout: float = 5.0, **filters: str) -> list[dict[str, Any]]:
        """Poll until at least ``count`` deliveries match (background delivery is asynchronous)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [d for d in self.webhook_deliveries(**filters) if d["note"] != "sending"]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def clear_webhook_deliveries(self) -> None:
        self._call("DELETE", "/webhook_deliveries")

    def sign(self, payload: str, secret: str | None = None, timestamp: int | None = None) -> str:
        """A ``Stripe-Signature`` header for ``payload`` (default secret: the configured one)."""
        body = {"payload": payload, "secret": secret, "timestamp": timestamp}
        return str(self._call("POST", "/webhooks/sign", body)["header"])

    def add_fault(
        self,
        path: str,
        mode: str = "error",
        *,
        method: str | None = None,
        count: int = 1,
        probability: float = 1.0,
        seconds: float = 5.0,
    ) -> dict[str, Any]:
        body = {
            "path": path,
            "mode": mode,
            "method": method,
            "count": count,
            "probability": probability,
            "seconds": seconds,
        }
        return self._call("POST", "/faults", body)  # type: ignore[no-any-return]

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")  # type: ignore[no-any-return]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def stats(self) -> dict[str, Any]:
        """``{"total": n, "requests": {"POST /v1/customers": n, ...}}``."""
        return self._call("GET", "/stats")  # type: ignore[no-any-return]

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict[str, str]]:
        """The latest API requests (method, path, key_last4, key_sha256), oldest first."""
        params = {k: v for k, v in (("method", method), ("path", path)) if v}
        response = self._http.get("/_emulator/requests", params=params)
        response.raise_for_status()
        return response.json()["data"]  # type: ignore[no-any-return]

    def request_count(self, method: str, path: str) -> int:
        return int(self.stats()["requests"].get(f"{method.upper()} {path}", 0))

    def snapshot(self, path: str | None = None) -> str | None:
        return self._call("POST", "/snapshot", {"path": path})["path"]  # type: ignore[no-any-return]

    def close(self) -> None:
        self._http.close()


class EmulatorServer(EmulatorControl):
    """The emulator served by uvicorn in a daemon thread on a free 127.0.0.1 port; a context manager."""

    def __init__(
        self,
        *,
        seed: str | None = None,
        seed_mode: str = "classic",
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_endpoints: list[EndpointConfig] | None = None,
        api_version: str = DEFAULT_VERSION,
        state_file: str | None = None,
        webhook_retry_delays: tuple[float, ...] = (0.1, 0.2, 0.4),
        host: str = "127.0.0.1",
        port: int | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        super().__init__(f"http://{host}:{self.port}")
        self.app = create_app(
            state_file=state_file,
            seed=seed,
            seed_mode=seed_mode,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            webhook_endpoints=webhook_endpoints,
            api_version=api_version,
            webhook_retry_delays=webhook_retry_delays,
        )
        self.webhook_secret = webhook_secret
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "EmulatorServer":
        config = uvicorn.Config(
            self.app, host=self.host, port=self.port, log_level="warning", access_log=False, lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="stripe-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Stripe emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.close()

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
