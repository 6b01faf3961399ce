"""`make run` starts the emulator through scripts/start-emulator.sh: the webhook signing secret reaches it
through the environment, never a command line (which any user can read with `ps`), and it signs with it."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from stripe_emulator.testing import free_port

REPO = Path(__file__).resolve().parents[2]
SECRET = "whsec_never_on_a_command_line_3f9a"


def command_lines(pid: int) -> list[str]:
    """The command lines of `pid` and all its descendants, as `ps` shows them."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        try:
            found.append(Path(f"/proc/{current}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        queue.extend(int(child) for child in children)
    return found


def test_the_signing_secret_is_in_no_command_line_and_is_the_one_used(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "STRIPE_WEBHOOK_SECRET": SECRET}
    process = subprocess.Popen(
        ["bash", str(REPO / "scripts" / "start-emulator.sh"), str(port), "http://127.0.0.1:9/hooks"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_emulator/clock", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.1)
        lines = command_lines(process.pid)
        signed = httpx.post(
            f"http://127.0.0.1:{port}/_emulator/webhooks/sign",
            json={"payload": "{}", "timestamp": 1},
            timeout=5,
        ).json()["header"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)

    assert any("stripe-emulator" in line or "stripe_emulator" in line for line in lines), lines
    assert not any(SECRET in line for line in lines)
    expected = hmac.new(SECRET.encode(), b"1.{}", hashlib.sha256).hexdigest()
    assert signed == f"t=1,v1={expected}"
