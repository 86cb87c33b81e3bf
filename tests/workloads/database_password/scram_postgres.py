"""A private PostgreSQL server that checks passwords (scram-sha-256), for tests.

The shared test server trusts every local connection, so it cannot show that
a password was right. This one is initialised in a temporary folder on a port
of the caller's range, run as the ``postgres`` user when the tests run as root
(PostgreSQL refuses root), and removed afterwards. Without ``initdb`` and
``postgres`` on PATH the caller skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2

ADMIN = "admin"


@dataclass(frozen=True)
class ScramPostgres:
    """The running server: where it listens and its administrator's password."""

    port: int
    admin_password: str

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run ``sql`` as the administrator (autocommit)."""
        connection = psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user=ADMIN,
            password=self.admin_password,
            dbname=database,
        )
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()


def tool(name: str) -> str | None:
    """``name`` on PATH, else in Debian's versioned folder (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


def why_not_available() -> str | None:
    missing = [name for name in ("initdb", "postgres") if tool(name) is None]
    if missing:
        return f"no {' and '.join(missing)} on PATH"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to start PostgreSQL as 'postgres'"
    return None


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def scram_postgres(port: int) -> Iterator[ScramPostgres]:
    """Start a server on 127.0.0.1:``port`` that demands scram-sha-256 passwords."""
    folder = Path(tempfile.mkdtemp(prefix="opsctl-scram-"))
    password = "admin-" + os.urandom(6).hex()
    (folder / "pw").write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(folder / "pw", "postgres")
    server = None
    try:
        subprocess.run(
            _as_server_user(
                [str(tool("initdb")), "-D", str(folder / "data"), "-A", "scram-sha-256", "-U", ADMIN,
                 f"--pwfile={folder / 'pw'}", "--no-sync"]
            ),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        server = subprocess.Popen(
            _as_server_user(
                [str(tool("postgres")), "-D", str(folder / "data"), "-p", str(port), "-k", str(folder),
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
            ),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        running = ScramPostgres(port, password)
        deadline = time.monotonic() + 30
        while True:
            try:
                running.execute("SELECT 1")
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield running
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(folder, ignore_errors=True)
