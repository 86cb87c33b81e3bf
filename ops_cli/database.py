"""The PostgreSQL databases of a local environment: created by ``up``, dropped by
``down --purge``.

The server is never opsctl's: it is the machine's (or any one the environment
names with ``database.host``). opsctl only creates the environment's own
databases (``database.mlflow_database``, ``database.prefect_database``) when
they are missing; the schemas are the servers' own business (MLflow creates
and checks its tables at start, Prefect runs its migrations at start).
The password comes from the environment's secret store, never from YAML.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ops_cli.config.models import EnvironmentConfig
from ops_cli.errors import ConfigError, OpsError
from ops_cli.secrets import SecretStore

MAINTENANCE_DATABASE = "postgres"


def owned_databases(config: EnvironmentConfig) -> list[str]:
    """The databases a local PostgreSQL environment keeps its stores in, or none
    for SQLite and for cluster environments (their databases are provisioned)."""
    db = config.database
    if db.kind != "postgresql" or not config.is_local:
        return []
    return list(dict.fromkeys([db.mlflow_database, db.prefect_database]))


def ensure_databases(config: EnvironmentConfig, secrets: SecretStore) -> list[str]:
    """Create the environment's databases that do not exist yet; the names created.

    Idempotent: a second call creates nothing. Raises :class:`OpsError` naming the
    server and what to do when it cannot be reached or refuses.
    """
    wanted = owned_databases(config)
    if not wanted:
        return []
    with _connection(config, secrets) as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (wanted,))
        present = {row[0] for row in cursor.fetchall()}
        created = [name for name in wanted if name not in present]
        for name in created:
            cursor.execute(f"CREATE DATABASE {_identifier(name)}")
    return created


def drop_databases(config: EnvironmentConfig, secrets: SecretStore) -> list[str]:
    """Drop the environment's databases (``down --purge``); the names dropped.

    Connections still open (a server that outlived ``down``) are closed first
    (``WITH (FORCE)``, PostgreSQL 13 and later).
    """
    wanted = owned_databases(config)
    if not wanted:
        return []
    with _connection(config, secrets) as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (wanted,))
        found = {row[0] for row in cursor.fetchall()}
        present = [name for name in wanted if name in found]
        for name in present:
            cursor.execute(f"DROP DATABASE IF EXISTS {_identifier(name)} WITH (FORCE)")
    return present


def describe(config: EnvironmentConfig) -> str:
    """``user@host:port`` of the environment's server, for messages (no password)."""
    db = config.database
    return f"{db.user}@{db.host}:{db.port}"


@contextmanager
def _connection(config: EnvironmentConfig, secrets: SecretStore) -> Iterator[Any]:
    """An autocommit cursor on the server's maintenance database (CREATE DATABASE
    cannot run inside a transaction)."""
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - the postgres extra is part of every install here
        raise ConfigError(
            f"environment '{config.name}' keeps its stores in PostgreSQL, which needs "
            "psycopg2: pip install -e '.[postgres]'"
        ) from None
    db = config.database
    password = secrets.require(db.password_secret) if db.password_secret else None
    try:
        connection = psycopg2.connect(
            host=db.host,
            port=db.port,
            user=db.user,
            password=password,
            dbname=MAINTENANCE_DATABASE,
            sslmode=db.sslmode,
            connect_timeout=10,
            application_name="opsctl",
        )
    except psycopg2.OperationalError as exc:
        raise OpsError(
            f"environment '{config.name}': cannot reach PostgreSQL as {describe(config)} "
            f"({_first_line(exc)}); opsctl does not start it: start the server, or name "
            "another with database.host/port/user (OPSCTL_DATABASE__HOST, ...) and its "
            f"password in the secret '{db.password_secret}'"
        ) from None
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            yield cursor
    except psycopg2.Error as exc:
        raise OpsError(
            f"environment '{config.name}': PostgreSQL {describe(config)} refused: "
            f"{_first_line(exc)} (the user needs the CREATEDB privilege)"
        ) from None
    finally:
        connection.close()


def _identifier(name: str) -> str:
    """``name`` quoted as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
