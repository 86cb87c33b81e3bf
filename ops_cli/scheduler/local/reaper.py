"""A supervisord event listener: when a program exits, end its process group.

supervisord signals a whole process group only when *it* stops a program. A
program that crashes (or is killed with SIGKILL) can leave children behind,
still holding its port, and its restart would then fail. This listener, run by
supervisord itself, sends SIGTERM then SIGKILL to the group of the exited
process (each supervisord program leads its own group).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

from supervisor import childutils


def reap_group(pgid: int, grace_s: float = 5.0) -> None:
    """Terminate every process still in group ``pgid``; silent if none is left."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def main() -> None:
    """Serve events forever, as supervisord's listener protocol expects."""
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        if headers.get("eventname") == "PROCESS_STATE_EXITED":
            fields, _ = childutils.eventdata(payload + "\n")
            pid = int(fields.get("pid", 0))
            if pid > 1:
                reap_group(pid)
                sys.stderr.write(f"reaped process group {pid} of {fields.get('processname')}\n")
                sys.stderr.flush()
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
