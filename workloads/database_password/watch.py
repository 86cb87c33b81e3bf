"""The watcher: stop the service once RDS has rotated the password it started with."""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from workloads.database_password.secret import DatabaseSecret, SecretUnavailable


@dataclass
class Watch:
    """Checks the secret's version every ``every_s`` and stops the service (``pid``)
    when it differs from ``started_with``. Time, signals and the secret are
    injectable so the rules can be tested without waiting or killing."""

    started_with: str
    read: Callable[[], DatabaseSecret]
    pid: int
    every_s: float = 60.0
    stop_grace_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    kill: Callable[[int, int], None] = os.kill
    service_alive: Callable[[], bool] = lambda: True
    say: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True)
    first_delay_s: float | None = None

    def run(self) -> str:
        """Watch until the service is gone or has been stopped; returns why it ended."""
        first = self.first_delay_s
        self.sleep(random.uniform(0, self.every_s) if first is None else first)
        while self.service_alive():
            if self.rotated():
                self.stop_service()
                return "rotated"
            self.sleep(self.every_s)
        return "service ended"

    def rotated(self) -> bool:
        """Whether the secret's current version is not the one the service started with.
        A failed read keeps the service running (it still has open connections)."""
        try:
            current = self.read().version
        except SecretUnavailable as exc:
            self.say(f"database password: could not check for a rotation: {exc}")
            return False
        if current == self.started_with:
            return False
        self.say(
            f"database password: RDS rotated it (secret version {self.started_with} -> "
            f"{current}); stopping the service so it restarts with the new one"
        )
        return True

    def stop_service(self) -> None:
        """SIGTERM, then SIGKILL if the service still runs after ``stop_grace_s``."""
        self.kill(self.pid, signal.SIGTERM)
        waited = 0.0
        while waited < self.stop_grace_s and self.service_alive():
            self.sleep(1.0)
            waited += 1.0
        if self.service_alive():
            self.kill(self.pid, signal.SIGKILL)
