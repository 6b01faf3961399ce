"""Processes for the browser journey: Stripe emulator, API and portal on free local ports, and Chromium."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ADMIN_TOKEN = "mdp_admin_e2e_" + "x" * 32
# The provider admin the API seeds at start (ADMIN_BOOTSTRAP_EMAIL/PASSWORD), for the admin console test.
ADMIN_EMAIL = "admin-e2e@example.com"
ADMIN_PASSWORD = "e2e admin console password"


def _api_has_create_app() -> bool:
    try:
        return hasattr(importlib.import_module("portal_api.main"), "create_app")
    except ImportError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2, follow_redirects=True).status_code < 500:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f}s:\n{log.read_text()[-4000:]}")


SECRET_PATTERN = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9]|whsec_[A-Za-z0-9]")
# E2E_DOCS_SCREENSHOTS=1 also refreshes the README's screenshots in docs/ (screenshot name -> docs file);
# a test may name the docs file at the call instead (`shot(driver, name, docs_name=...)`).
DOCS_SCREENSHOTS = {
    "21-pricing-current-plan": "pricing.png",
    "22-switch-dialog": "plan-switch.png",
    "24-dashboard-canceling": "dashboard-canceling.png",
}


def shot(driver: Any, name: str, docs_name: str | None = None) -> None:
    """A screenshot into tests/e2e/artifacts (and the whole page into docs/, see DOCS_SCREENSHOTS)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    docs_name = docs_name or DOCS_SCREENSHOTS.get(name)
    if docs_name and os.environ.get("E2E_DOCS_SCREENSHOTS") == "1":
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        # Toasts fade after a few seconds; the README's picture is taken without them.
        WebDriverWait(driver, 10).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-sonner-toast]"))
        size = driver.get_window_size()
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(size["width"], max(size["height"], int(height) + 100))
        driver.save_screenshot(str(Path(ROOT, "docs", docs_name)))
        driver.set_window_size(size["width"], size["height"])


def no_secret_in_page(driver: object) -> None:
    source = driver.page_source  # type: ignore[attr-defined]
    assert not SECRET_PATTERN.search(source), f"a Stripe secret is in {driver.current_url}"  # type: ignore[attr-defined]


@dataclass
class Stack:
    emulator_url: str
    api_url: str
    portal_url: str
    admin_token: str
    admin_email: str = ADMIN_EMAIL
    admin_password: str = ADMIN_PASSWORD


def _start(command: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    # Its own process group, so stopping it stops what it started (uv -> uvicorn, reflex -> granian).
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=5)


# Session scope: the browser tests share one emulator, API and portal (the portal build is the slow part).
@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not _api_has_create_app():
        pytest.skip(
            "portal_api.main has no create_app yet: the API (issue in progress) is not there to test against"
        )
    logs = ARTIFACTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_factory.mktemp("e2e")
    emulator_port, api_port, portal_port = free_port(), free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    api_url = f"http://127.0.0.1:{api_port}"
    portal_url = f"http://localhost:{portal_port}"
    webhook_secret = "whsec_e2e_" + "w" * 24
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "REFLEX_"))}
    processes: list[subprocess.Popen] = []
    try:
        emulator = _start(
            [
                "uv",
                "run",
                "--frozen",
                "stripe-emulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(emulator_port),
                "--seed",
                "demo",
                "--webhook-url",
                f"{api_url}/v1/webhooks/stripe",
                "--webhook-secret",
                webhook_secret,
            ],
            env=base_env,
            cwd=ROOT,
            log=logs / "emulator.log",
        )
        processes.append(emulator)
        api_env = base_env | {
            "STRIPE_API_BASE": emulator_url,
            "STRIPE_API_KEY": "sk_test_e2e_emulator",
            "STRIPE_WEBHOOK_SECRET": webhook_secret,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/e2e.db",
            "PORTAL_URL": portal_url,
            "API_URL": api_url,
            "ADMIN_BOOTSTRAP_TOKEN": ADMIN_TOKEN,
            "ADMIN_BOOTSTRAP_EMAIL": ADMIN_EMAIL,
            "ADMIN_BOOTSTRAP_PASSWORD": ADMIN_PASSWORD,
            "LOG_JSON": "false",
        }
        api = _start(
            [
                "uv",
                "run",
                "--frozen",
                "uvicorn",
                "portal_api.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
            ],
            env=api_env,
            cwd=ROOT / "my-dev-portal-api",
            log=logs / "api.log",
        )
        processes.append(api)
        portal_env = base_env | {
            "PORTAL_PORT": str(portal_port),
            "API_URL": api_url,
            "PORTAL_URL": portal_url,
        }
        portal = _start(
            ["bash", str(ROOT / "scripts" / "run-portal.sh")],
            env=portal_env,
            cwd=ROOT,
            log=logs / "portal.log",
        )
        processes.append(portal)
        wait_until_up(f"{emulator_url}/v1/prices", emulator, logs / "emulator.log", 60)
        wait_until_up(f"{api_url}/healthz", api, logs / "api.log", 90)
        wait_until_up(f"{portal_url}/ping", portal, logs / "portal.log", 300)
        yield Stack(emulator_url, api_url, portal_url, ADMIN_TOKEN)
    finally:
        for process in reversed(processes):
            _stop(process)


# Module scope: each browser test starts without another test's cookies and tabs.
@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Chromium is missing: run scripts/install-browser.sh (scripts/test.sh does)")
    profile = tempfile.mkdtemp(prefix="e2e-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    # Keeps the console log readable, so tests can look for Content Security Policy violations, and the
    # network log, so they can read the websocket's frames.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def csp_violations(driver: object) -> list[str]:
    """Console messages since the last call where the browser blocked something by Content Security Policy.

    Chromium logs them with source "security" and without the page's address, so any page counts.
    """
    entries = driver.get_log("browser")  # type: ignore[attr-defined]
    return [entry["message"] for entry in entries if "Content Security Policy" in entry["message"]]


def websocket_frames(driver: object) -> list[str]:
    """The payloads of the websocket frames the page sent and received since the last call."""
    entries = driver.get_log("performance")  # type: ignore[attr-defined]
    frames = []
    for entry in entries:
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.webSocketFrameSent", "Network.webSocketFrameReceived"):
            frames.append(str(message["params"]["response"]["payloadData"]))
    return frames


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """On a failed journey, keep a screenshot of where the browser was."""
    report = yield
    if report.when == "call" and report.failed and "browser" in getattr(item, "funcargs", {}):
        with contextlib.suppress(Exception):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            item.funcargs["browser"].save_screenshot(str(ARTIFACTS / "failure.png"))  # type: ignore[attr-defined]
    return report
