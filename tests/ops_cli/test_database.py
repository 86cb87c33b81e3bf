"""The environment's own PostgreSQL databases, against the machine's real server
(127.0.0.1:5432, trust auth; CI has it too): created when missing, never twice,
dropped on purge; an unreachable server is a clear error, not a traceback."""

from __future__ import annotations

import os

import psycopg2
import pytest

from ops_cli.database import drop_databases, ensure_databases, owned_databases
from ops_cli.environment import open_environment
from ops_cli.errors import OpsError
from tests.conftest import free_port_base

DATABASE = "database: {{kind: postgresql, host: 127.0.0.1, port: {port}, user: postgres, \
password_secret: database-password, mlflow_database: {prefix}_mlflow, \
prefect_database: {prefix}_prefect}}\n"


def _environment(environments_dir, tmp_path, *, port: int = 5432, prefix: str = "x"):
    (environments_dir / "local.yaml").write_text(DATABASE.format(port=port, prefix=prefix))
    environ = {"OPSCTL_STATE_DIR": str(tmp_path / "state")}
    env = open_environment("local", environments_dir=environments_dir, environ=environ)
    assert "database-password" in env.secrets.ensure_generated(env.local_secret_names())
    return env


def _existing(names: list[str]) -> list[str]:
    with psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres") as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,))
            return sorted(row[0] for row in cursor.fetchall())


def test_databases_are_created_once_and_dropped_on_purge(environments_dir, tmp_path) -> None:
    prefix = f"opsctl_unit_{os.getpid()}"
    env = _environment(environments_dir, tmp_path, prefix=prefix)
    names = [f"{prefix}_mlflow", f"{prefix}_prefect"]
    assert owned_databases(env.config) == names
    try:
        assert ensure_databases(env.config, env.secrets) == names
        assert _existing(names) == names
        assert ensure_databases(env.config, env.secrets) == []  # a second up: nothing
    finally:
        dropped = drop_databases(env.config, env.secrets)
    assert dropped == names and _existing(names) == []


def test_sqlite_environments_own_no_database(environments_dir, tmp_path) -> None:
    env = open_environment(
        "local", environments_dir=environments_dir, environ={"OPSCTL_STATE_DIR": str(tmp_path)}
    )
    assert owned_databases(env.config) == []
    assert ensure_databases(env.config, env.secrets) == []


def test_an_unreachable_server_is_named_with_what_to_do(environments_dir, tmp_path) -> None:
    closed = free_port_base(start=int(os.environ.get("OPSCTL_TEST_PORT_START", "20000")))
    env = _environment(environments_dir, tmp_path, port=closed)
    with pytest.raises(OpsError) as error:
        ensure_databases(env.config, env.secrets)
    message = str(error.value)
    assert f"cannot reach PostgreSQL as postgres@127.0.0.1:{closed}" in message
    assert "opsctl does not start it" in message and "database.host" in message
