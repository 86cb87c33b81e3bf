"""Outbound connections refused for a platform under test: a network namespace whose
only interface is loopback (kernel-level, every process, Go's ``weed`` included), and
an audit hook in every Python process that records each attempt to leave (see
``outbound/sitecustomize.py``)."""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CLONE_NEWNET = 0x40000000
_SIOCSIFFLAGS = 0x8914
_IFF_UP, _IFF_LOOPBACK, _IFF_RUNNING = 0x1, 0x8, 0x40
AUDIT_DIR = Path(__file__).parent / "outbound"
LOG_VARIABLE = "OPSCTL_TEST_OUTBOUND_LOG"


@contextmanager
def loopback_only_network() -> Iterator[bool]:
    """Move the calling thread into a new network namespace with loopback up and no
    other interface: every process it starts from then on (and theirs) can reach
    127.0.0.1 and nothing else (a connection elsewhere fails at once, ENETUNREACH).
    The thread returns to its own namespace afterwards. A thread inherits the namespace
    of the thread that starts it and only moves by itself, so a long-lived library thread
    stays where it was started: fsspec's IO loop (s3fs runs every request on it) is
    stopped on the way in and on the way out, and the next S3 call starts a new one on
    the right side.

    Yields False, changing nothing, where this process may not create a namespace
    (creating one takes CAP_SYS_ADMIN: root, as in CI).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            yield False
            return
        _stop_fsspec_io_loop()
        try:
            _loopback_up()
            yield True
        finally:
            if libc.setns(original, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "could not return to the network namespace")
            _stop_fsspec_io_loop()
    finally:
        os.close(original)


def _stop_fsspec_io_loop() -> None:
    """Stop fsspec's IO loop and forget it and every cached filesystem that holds it."""
    import fsspec.asyn
    from fsspec.spec import AbstractFileSystem

    loop, thread = fsspec.asyn.loop[0], fsspec.asyn.iothread[0]
    if loop is not None and thread is not None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
    fsspec.asyn.reset_lock()
    pending = [AbstractFileSystem]
    while pending:
        cls = pending.pop()
        cls.clear_instance_cache()
        pending.extend(cls.__subclasses__())


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = _IFF_UP | _IFF_LOOPBACK | _IFF_RUNNING
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags, b"\0" * 14))


def audited_environ(log: Path) -> dict[str, str]:
    """The variables that load the audit hook into a Python process and name its log."""
    path = os.pathsep.join(filter(None, [str(AUDIT_DIR), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, LOG_VARIABLE: str(log)}


def audit_lines(log: Path) -> list[dict]:
    """Every line the audit hook wrote: ``loaded`` lines, then attempts to leave."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def attempts(log: Path) -> list[dict]:
    """Every attempt to leave the machine the audit hook recorded."""
    return [line for line in audit_lines(log) if line["event"] != "loaded"]


def watched_commands(log: Path) -> list[str]:
    """The command lines of the processes the audit hook was loaded into."""
    return [" ".join(line["argv"]) for line in audit_lines(log) if line["event"] == "loaded"]


QUIET_BY_ITSELF = ("PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS")
"""Variables under which MLflow stays quiet whatever it is told (it assumes a test or
CI run): a platform under test must not have them, or a test of reporting proves
nothing."""
