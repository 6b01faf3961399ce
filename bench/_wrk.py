"""Shared pieces for figures measured with wrk: finding (or installing) it, running it, servers under uvicorn.

wrk is a C load generator (Debian package `wrk`; `scripts/install-wrk.sh` installs it when missing). Its Lua
`done` hook prints one JSON line with the figures, which `run_wrk` returns.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT_S = 300.0
START_TIMEOUT_S = 60.0
EXTRA_TIMEOUT_S = 30.0

# Appended to every wrk script: one JSON line with the figures (latency in microseconds).
DONE_HOOK = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"errors": %d, "status_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.status + e.timeout, e.status))
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["bash", str(REPO / "scripts" / "install-wrk.sh")], check=True, timeout=INSTALL_TIMEOUT_S)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and scripts/install-wrk.sh did not install it")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def run_wrk(
    wrk: str, lua: str, url: str, *, seconds: int, threads: int = 2, connections: int = 32, workdir: Path
) -> dict[str, Any]:
    script = workdir / f"wrk-{time.monotonic_ns()}.lua"
    script.write_text(lua + DONE_HOOK)
    process = await asyncio.create_subprocess_exec(
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=seconds + EXTRA_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await asyncio.wait_for(process.wait(), timeout=10)
        raise RuntimeError(f"wrk did not finish within {seconds + EXTRA_TIMEOUT_S:.0f} s") from None
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited with {process.returncode}: {err.decode(errors='replace')[-500:]}")
    figures = [line for line in out.decode().splitlines() if line.startswith("{")]
    if not figures:
        raise RuntimeError(f"wrk printed no figures: {out.decode(errors='replace')[-500:]}")
    result: dict[str, Any] = json.loads(figures[-1])
    result["per_second"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def start_uvicorn(
    app: str, port: int, env: dict[str, str], workdir: Path, *, factory: bool
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log", *(["--factory"] if factory else [])]
    log = (workdir / f"uvicorn-{port}.log").open("wb")
    return subprocess.Popen(
        command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=REPO / "bench"
    )


async def wait_up(url: str, server: subprocess.Popen[bytes], workdir: Path, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                log = (workdir / f"uvicorn-{port}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"uvicorn exited with {server.returncode}: {log}")
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {START_TIMEOUT_S:.0f} s")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for our ASCII values
