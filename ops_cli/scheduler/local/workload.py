"""Turn catalog specs into concrete local processes: ports, command, environment.

Placeholders available to a spec locally:

``bind_host``, ``port.<label>``, ``data_dir``, ``python``, ``env.name``,
``endpoint.<workload>.<port>`` (``http://host:port``), ``address.<workload>.<port>``,
``secret.<name>``, ``bucket.<kind>``, ``storage.endpoint_url``, ``storage.region``,
``db.mlflow_uri``, ``db.prefect_uri``, ``registry.model_name``,
``registry.champion_alias``, ``registry.challenger_alias``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ops_cli.catalog import Catalog, WorkloadSpec
from ops_cli.catalog.placeholders import fill, placeholders_in
from ops_cli.config.models import EnvironmentConfig
from ops_cli.errors import ConfigError
from ops_cli.health import ProbeTarget
from ops_cli.scheduler.base import Endpoint
from ops_cli.secrets import SecretStore
from ops_cli.state import StatePaths


@dataclass(frozen=True)
class LocalWorkload:
    """A workload resolved for this machine."""

    spec: WorkloadSpec
    command: tuple[str, ...]
    env: dict[str, str]
    ports: dict[str, int]
    data_dir: Path
    log_file: Path
    probe: ProbeTarget | None
    endpoints: tuple[Endpoint, ...]
    depends_on: tuple[str, ...]
    files: tuple[tuple[Path, str, int], ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    def fingerprint(self) -> str:
        """Changes whenever what the process would be started with changes."""
        files = [(str(path), content, mode) for path, content, mode in self.files]
        blob = json.dumps([self.command, sorted(self.env.items()), files], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


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


def tool_path() -> str:
    """PATH with this interpreter's scripts folder first, where ``weed``,
    ``mlflow`` and ``prefect`` are installed beside opsctl."""
    return os.pathsep.join([str(Path(interpreter()).parent), os.environ.get("PATH", "")])


def resolve_ports(config: EnvironmentConfig, catalog: Catalog) -> dict[str, dict[str, int]]:
    """Every catalog port: ``port_base + offset`` unless the environment pins it."""
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


def resolve_local_workloads(
    config: EnvironmentConfig, catalog: Catalog, paths: StatePaths, secrets: SecretStore
) -> list[LocalWorkload]:
    """The enabled workloads of ``config`` as processes to run, in file order.

    Raises :class:`ConfigError` for an unknown workload, port or placeholder, or
    a command whose executable is not installed.
    """
    ports = resolve_ports(config, catalog)
    shared = _shared_context(config, ports, paths)
    enabled = config.enabled_workloads()
    return [
        _resolve_one(catalog[name], settings.env, shared, ports[name], paths, secrets, enabled)
        for name, settings in enabled.items()
    ]


def _shared_context(
    config: EnvironmentConfig, ports: dict[str, dict[str, int]], paths: StatePaths
) -> dict[str, str]:
    host = config.network.bind_host
    context = {
        "bind_host": host,
        "python": interpreter(),
        "env.name": config.name,
        "storage.region": config.storage.region,
        "registry.model_name": config.registry.model_name,
        "registry.champion_alias": config.registry.champion_alias,
        "registry.challenger_alias": config.registry.challenger_alias,
        "db.mlflow_uri": _database_uri(config, paths, "mlflow"),
        "db.prefect_uri": _database_uri(config, paths, "prefect"),
    }
    for name, labels in ports.items():
        for label, port in labels.items():
            context[f"endpoint.{name}.{label}"] = f"http://{host}:{port}"
            context[f"address.{name}.{label}"] = f"{host}:{port}"
    for kind, bucket in config.storage.buckets.model_dump().items():
        context[f"bucket.{kind}"] = bucket
    storage_url = config.storage.endpoint_url
    if config.storage.kind == "seaweedfs":
        storage_url = context["endpoint.storage.s3"]
    context["storage.endpoint_url"] = storage_url or ""
    return context


def _database_uri(config: EnvironmentConfig, paths: StatePaths, service: str) -> str:
    """SQLite files in the state directory, or the PostgreSQL database of ``service``.

    The password placeholder is filled from the secret store later, so the URI
    only ever lands in a process environment, never in an argument list.
    """
    db = config.database
    if db.kind == "sqlite":
        file = paths.workload_data("mlflow" if service == "mlflow" else "prefect-server")
        file = file / f"{service}.db"
        driver = "sqlite" if service == "mlflow" else "sqlite+aiosqlite"
        return f"{driver}:///{file}"
    name = db.mlflow_database if service == "mlflow" else db.prefect_database
    driver = "postgresql" if service == "mlflow" else "postgresql+asyncpg"
    password = f":${{secret.{db.password_secret}}}" if db.password_secret else ""
    query = "" if service == "prefect" else f"?sslmode={db.sslmode}"
    return f"{driver}://{db.user}{password}@{db.host}:{db.port}/{name}{query}"


def _resolve_one(
    spec: WorkloadSpec,
    extra_env: dict[str, str],
    shared: dict[str, str],
    ports: dict[str, int],
    paths: StatePaths,
    secrets: SecretStore,
    enabled: dict[str, object],
) -> LocalWorkload:
    data_dir = paths.workload_data(spec.name)
    context = dict(shared)
    context["data_dir"] = str(data_dir)
    context.update({f"port.{label}": str(port) for label, port in ports.items()})
    strings = [*spec.command, *spec.env.values(), *extra_env.values()]
    strings += [f.content for f in spec.files]
    for name in sorted(set().union(*(placeholders_in(s) for s in strings))):
        if name.startswith("secret."):
            context[name] = secrets.require(name.removeprefix("secret."))

    def resolve(text: str, where: str) -> str:
        # one more pass: a database URI may itself carry a secret placeholder
        once = fill(text, context, where=where)
        for name in placeholders_in(once):
            if name.startswith("secret."):
                context[name] = secrets.require(name.removeprefix("secret."))
        return fill(once, context, where=where)

    where = f"workload '{spec.name}'"
    command = [resolve(part, f"{where} command") for part in spec.command]
    command[0] = _executable(command[0], spec.name)
    env = {}
    for key, value in {**spec.env, **extra_env}.items():
        resolved = resolve(value, f"{where} env {key}")
        if resolved != "":  # an empty value means "not set", e.g. no S3 endpoint on AWS
            env[key] = resolved
    env["PATH"] = tool_path()
    files = tuple(
        (data_dir / f.path, resolve(f.content, f"{where} file {f.path}"), f.mode_bits)
        for f in spec.files
    )
    host = shared["bind_host"]
    return LocalWorkload(
        spec=spec,
        command=tuple(command),
        env=env,
        ports=ports,
        data_dir=data_dir,
        log_file=paths.workload_log(spec.name),
        probe=_probe_target(spec, host, ports),
        endpoints=tuple(
            Endpoint(e.label, f"http://{host}:{ports[e.port]}{e.path}") for e in spec.endpoints
        ),
        depends_on=tuple(d for d in spec.depends_on if d in enabled),
        files=files,
    )


def _executable(program: str, workload: str) -> str:
    found = shutil.which(program, path=tool_path())
    if found is None:
        raise ConfigError(
            f"workload '{workload}': executable '{program}' not found on PATH "
            "(install opsctl with its dependencies: pip install -e .)"
        )
    return found


def _probe_target(spec: WorkloadSpec, host: str, ports: dict[str, int]) -> ProbeTarget | None:
    if spec.health is None:
        return None
    port = ports[spec.health.port]
    if spec.health.type == "tcp":
        return ProbeTarget("tcp", host, port)
    return ProbeTarget("http", host, port, url=f"http://{host}:{port}{spec.health.path}")
