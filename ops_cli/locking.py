"""One lock per environment, so two commands never change it at once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock

from ops_cli.errors import LockedError


@contextmanager
def environment_lock(lock_file: Path, *, environment: str, timeout_s: float = 0) -> Iterator[None]:
    """Hold the environment's lock for the duration of the block.

    Waits up to ``timeout_s`` seconds (0: do not wait), then raises
    :class:`LockedError` naming the process that holds it. The lock is released
    when the block exits, and by the OS if this process dies.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    owner_file = lock_file.with_name(lock_file.name + ".owner")
    lock = filelock.FileLock(lock_file, timeout=timeout_s)
    try:
        lock.acquire()
    except filelock.Timeout:
        holder = _read_owner(owner_file)
        raise LockedError(
            f"environment '{environment}' is locked by another opsctl command{holder}; "
            "wait for it to finish or pass --lock-timeout SECONDS to wait",
        ) from None
    try:
        owner_file.write_text(str(os.getpid()), encoding="utf-8")
        yield
    finally:
        owner_file.unlink(missing_ok=True)
        lock.release()


def _read_owner(owner_file: Path) -> str:
    try:
        return f" (pid {int(owner_file.read_text(encoding='utf-8').strip())})"
    except (OSError, ValueError):
        return ""
