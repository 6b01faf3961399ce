"""The stripe-emulator console script: flags, env fallbacks, and a real start."""

import subprocess
import sys
import time

import httpx

from stripe_emulator.cli import build_parser
from stripe_emulator.testing import free_port


def test_flags_default_from_environment(monkeypatch):
    monkeypatch.setenv("STRIPE_EMULATOR_PORT", "4321")
    monkeypatch.setenv("STRIPE_EMULATOR_SEED", "demo")
    monkeypatch.setenv("STRIPE_EMULATOR_WEBHOOK_SECRET", "whsec_env")
    args = build_parser().parse_args([])
    assert (args.port, args.seed, args.webhook_secret, args.host) == (4321, "demo", "whsec_env", "127.0.0.1")
    assert build_parser().parse_args(["--port", "9"]).port == 9


def test_cli_serves_the_seeded_catalog():
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_emulator.cli",
            "--port",
            str(port),
            "--seed",
            "demo",
            "--log-level",
            "warning",
        ]
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"{url}/_emulator/health")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.1)
        prices = httpx.get(f"{url}/v1/prices", headers={"Authorization": "Bearer sk_test_cli"}).json()
        assert {price["lookup_key"] for price in prices["data"]} == {
            "free_monthly",
            "payg_graduated_monthly",
            "package_1000_monthly",
            "pro_monthly",
        }
    finally:
        process.terminate()
        process.wait(timeout=10)
