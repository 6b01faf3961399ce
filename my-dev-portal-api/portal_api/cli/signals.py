"""Running a command until it ends or is asked to stop: the first SIGINT/SIGTERM sets its stop event, a
second one, or the command overrunning SHUTDOWN_TIMEOUT_SECONDS after the first, ends the process at once.

So `portal-api worker` and `portal-api backfill` stop cleanly on Ctrl-C or a container stop (in-flight
Stripe calls recorded, no query cancelled) and always exit in bounded time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
EXIT_FORCED = 130
# Past the shutdown timeout, what is left (closing connections, the engine) gets this much longer.
GRACE_SECONDS = 2.0


def run_stoppable(command: Callable[[asyncio.Event], Awaitable[T]], timeout_seconds: float) -> T:
    return asyncio.run(stoppable(command, timeout_seconds))


def exit_in_bounded_time(code: int) -> None:
    """Exit with `code`; should the interpreter then hang (a database driver's worker thread that was never
    stopped keeps it alive), a watchdog ends the process after GRACE_SECONDS anyway."""

    def watchdog() -> None:
        time.sleep(GRACE_SECONDS)
        os._exit(code)

    threading.Thread(target=watchdog, name="exit-watchdog", daemon=True).start()
    raise SystemExit(code)


async def stoppable(command: Callable[[asyncio.Event], Awaitable[T]], timeout_seconds: float) -> T:
    """Run `command(stop)` in the running loop with the signal handling described above."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []

    def force_exit() -> None:
        print("portal-api: did not stop in time; exiting now", file=sys.stderr, flush=True)
        os._exit(EXIT_FORCED)

    def on_signal() -> None:
        if stop.is_set():
            force_exit()
        stop.set()
        print("portal-api: stopping (again to abort at once)", file=sys.stderr, flush=True)
        loop.call_later(timeout_seconds + GRACE_SECONDS, force_exit)

    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            pass
    try:
        return await command(stop)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
