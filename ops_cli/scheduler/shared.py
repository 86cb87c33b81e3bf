"""What every scheduler works out the same way from an environment's settings.

The local scheduler (``local/workload.py``) and the Nomad renderer (``nomad/values.py``)
both fill the placeholders of a workload spec; the values that do not depend on
where a workload runs are made here once:

- :func:`resolve_ports`: every catalog port, ``port_base + offset`` unless pinned;
- :func:`constant_values`: placeholders that are plain settings (``env.name``,
  ``registry.*``, ``bucket.*``, ``storage.region``, ``telemetry.*`` ...);
- :func:`database_uri`: the SQLAlchemy URI of MLflow's or Prefect's database;
- :func:`scrape_basic_auth`: how Prometheus signs in to a workload's metrics endpoint;
- :func:`interpreter` and :func:`tool_path`: this installation's Python and the
  ``PATH`` under which its tools (``weed``, ``mlflow``, ``prefect``) are found, and
  :func:`missing_tools`: the enabled workloads whose optional tool is not installed.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from pathlib import Path
from typing import Literal

from ops_cli.catalog import Catalog, WorkloadSpec
from ops_cli.catalog.config_values import config_values
from ops_cli.catalog.placeholders import fill
from ops_cli.config.models import EnvironmentConfig
from ops_cli.errors import ConfigError

Service = Literal["mlflow", "prefect"]
"""The two services that keep a relational database."""


@functools.cache
def interpreter() -> str:
    """This installation's Python, spelled the same however opsctl was started.

    ``opsctl`` runs ``.venv/bin/python3.11`` while ``python -m ops_cli`` runs
    ``.venv/bin/python``: the same interpreter, but as different strings they
    would change the rendered commands, and supervisord would restart the
    workloads that use them on every switch.
    """
    real = os.path.realpath(sys.executable)
    for name in ("python3", "python"):
        candidate = Path(sys.prefix) / "bin" / name
        if candidate.exists() and os.path.realpath(candidate) == real:
            return str(candidate)
    return sys.executable


SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
"""The system's tool folders (Debian's default PATH): Prometheus, Alertmanager and the
C compiler come from Debian's packages."""


def tool_path() -> str:
    """The PATH every workload gets: this interpreter's scripts folder (``weed``,
    ``mlflow``, ``prefect``, installed beside opsctl), then :data:`SYSTEM_PATH`.

    Not the operator's own PATH: it is part of each rendered program, and supervisord
    restarts a program whose definition changed, so a shell with another PATH would
    restart every service on a second ``up`` that should change nothing. A tool kept
    elsewhere is given to a workload by ``workloads.<name>.env.PATH``.
    """
    return os.pathsep.join([str(Path(interpreter()).parent), *SYSTEM_PATH])


def resolve_ports(config: EnvironmentConfig, catalog: Catalog) -> dict[str, dict[str, int]]:
    """Every catalog port as ``{workload: {label: port}}``: ``network.port_base`` plus
    the spec's offset, unless ``workloads.<name>.ports`` pins it.

    Raises :class:`ConfigError` naming ``workloads.<name>.ports`` for a label the
    workload's spec does not declare.
    """
    resolved = {}
    for spec in catalog:
        pinned = config.workloads.get(spec.name)
        overrides = pinned.ports if pinned else {}
        unknown = set(overrides) - set(spec.ports)
        if unknown:
            raise ConfigError(
                f"workloads.{spec.name}.ports: unknown port {sorted(unknown)}; "
                f"allowed: {sorted(spec.ports)}"
            )
        resolved[spec.name] = {
            label: overrides.get(label, config.network.port_base + port.offset)
            for label, port in spec.ports.items()
        }
    return resolved


def constant_values(
    config: EnvironmentConfig, *, champion_alias: str | None = None
) -> dict[str, str]:
    """The placeholders whose values are plain settings, the same on every scheduler.

    Keys: ``env.name``, ``storage.region``, ``registry.model_name``,
    ``registry.champion_alias`` (``champion_alias`` when given: a deploy that serves
    another alias), ``registry.challenger_alias``, ``bucket.<kind>`` for every bucket
    of ``storage.buckets``, and those of :func:`ops_cli.catalog.config_values.config_values`.
    """
    registry = config.registry
    values = {
        "env.name": config.name,
        "storage.region": config.storage.region,
        "registry.model_name": registry.model_name,
        "registry.champion_alias": champion_alias or registry.champion_alias,
        "registry.challenger_alias": registry.challenger_alias,
        **config_values(config),
    }
    for kind, bucket in config.storage.buckets.model_dump().items():
        values[f"bucket.{kind}"] = bucket
    return values


def scrape_basic_auth(config: EnvironmentConfig, spec: WorkloadSpec) -> dict[str, str] | None:
    """The ``basic_auth`` of the scrape job of ``spec`` (its username filled from the
    plain settings, its password file relative to ``prometheus.yml``); None when its
    metrics endpoint is open. Raises :class:`ConfigError` for an unknown placeholder."""
    auth = spec.metrics.basic_auth if spec.metrics else None
    if auth is None:
        return None
    username = fill(
        auth.username, constant_values(config), where=f"workload '{spec.name}' metrics.basic_auth"
    )
    return {"username": username, "password_file": auth.password_file}


def database_uri(config: EnvironmentConfig, service: Service, sqlite_folder: str) -> str:
    """The SQLAlchemy URI of ``service``'s database.

    SQLite: the file ``<sqlite_folder>/<service>.db`` (a folder path, or a placeholder
    such as ``${data_dir}`` the scheduler resolves). PostgreSQL: the database
    ``database.mlflow_database``/``prefect_database`` on ``host:port``, with the
    password as a ``${secret.NAME}`` placeholder (filled from the secret store later,
    so the URI only ever lands in a process environment, never in an argument list),
    or none when RDS manages it (the task's entrypoint hands it over as
    ``PGPASSWORD``). MLflow's URI carries ``?sslmode=``.

    The drivers are named (psycopg2 for MLflow, asyncpg for Prefect): SQLAlchemy 2.1
    reads a bare ``postgresql://`` as psycopg 3, which is not installed.

    Raises :class:`ConfigError` when the PostgreSQL host is not known yet.
    """
    db = config.database
    if db.kind == "sqlite":
        driver = "sqlite" if service == "mlflow" else "sqlite+aiosqlite"
        return f"{driver}:///{sqlite_folder}/{service}.db"
    name = db.mlflow_database if service == "mlflow" else db.prefect_database
    driver = "postgresql+psycopg2" if service == "mlflow" else "postgresql+asyncpg"
    password = ""
    if db.password_secret and not db.managed_password:
        password = f":${{secret.{db.password_secret}}}"
    if not db.host:
        raise ConfigError(
            f"environment '{config.name}': the database's address is not known yet; "
            "run `opsctl up` (it records the database_endpoint output) or set "
            "database.host (OPSCTL_DATABASE__HOST)"
        )
    query = "" if service == "prefect" else f"?sslmode={db.sslmode}"
    return f"{driver}://{db.user}{password}@{db.host}:{db.port}/{name}{query}"


def missing_tools(config: EnvironmentConfig, catalog: Catalog) -> dict[str, str]:
    """Enabled workloads left out on this machine because their command is not
    installed, as ``{workload: "'<program>' is not installed: <install_hint>"}``: only
    those whose spec gives an ``install_hint`` (any other missing command stays an
    error when the workload is resolved)."""
    missing = {}
    for name in config.enabled_workloads():
        spec = catalog[name]
        program = spec.command[0]
        if (
            spec.install_hint
            and "${" not in program
            and not shutil.which(program, path=tool_path())
        ):
            missing[name] = f"'{program}' is not installed: {spec.install_hint}"
    return missing
