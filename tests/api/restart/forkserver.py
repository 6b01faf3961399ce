"""Fork server for the restart test: imports the app once, then forks an API or backfill process per command.

Importing the app costs about 2 s of CPU; forking the imported interpreter costs milliseconds, so the test can
SIGKILL and restart real processes dozens of times in a few seconds. Run as `python forkserver.py` with the
stack's environment; one command per stdin line, one answer per stdout line:
`api PORT` / `backfill FROM TO` -> the child's pid; `poll PID` -> its exit code, or `running`.
Children are killed by the caller (os.kill) and reaped here through `poll`.
"""

from __future__ import annotations

import os
import sys

import uvicorn

import portal_api.cli
import portal_api.main  # imported before forking: the point of this server
import portal_api.reporting.backfill


def child(command: list[str]) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        if command[0] == "api":
            uvicorn.run(
                "portal_api.main:create_app",
                factory=True,
                host="127.0.0.1",
                port=int(command[1]),
                log_level="warning",
                access_log=False,
            )
        else:
            portal_api.cli.main(["backfill", "--from", command[1], "--to", command[2]])
    except SystemExit as exc:
        os._exit(exc.code if isinstance(exc.code, int) else 1)
    except BaseException:
        os._exit(1)
    os._exit(0)


def serve() -> None:
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "poll":
            try:
                pid, status = os.waitpid(int(command[1]), os.WNOHANG)
            except ChildProcessError:
                answer = "gone"
            else:
                answer = "running" if pid == 0 else str(os.waitstatus_to_exitcode(status))
        else:
            pid = os.fork()
            if pid == 0:
                child(command)
            answer = str(pid)
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
