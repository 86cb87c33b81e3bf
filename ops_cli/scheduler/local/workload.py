"""Turn catalog specs into concrete local processes: ports, command, environment.

Placeholders available to a spec locally:

``bind_host``, ``port.<label>``, ``data_dir``, ``python``, ``env.name``,
``endpoint.<workload>.<port>`` (``http://host:port``), ``address.<workload>.<port>``,
``secret.<name>``, ``secret?<name>`` (an optional secret: empty when unset),
``alerts.webhook_url`` (the optional secret named by ``monitoring.webhook_url_secret``),
``bucket.<kind>``, ``storage.endpoint_url``, ``storage.region``,
``db.mlflow_uri``, ``db.prefect_uri``, ``registry.model_name``,
``registry.champion_alias``, ``registry.challenger_alias``, ``auth.required``,
``auth.api_key`` (see :func:`ops_cli.catalog.placeholders.auth_context`),
``resources.cores`` (the whole cores the environment reserves for the workload,
empty when it reserves a CPU share), ``metrics.scrape_configs`` (Prometheus scrape jobs, as a YAML flow list, of the
enabled workloads that declare ``metrics``: static targets on this machine), and those
of :mod:`ops_cli.catalog.config_values` (``telemetry.*``, ``service_auth.*``).

A process's environment is explicit: what its spec (and the environment's
``workloads.<name>.env``) declares, the variables its spec's ``pass_env`` takes
from the operator's environment, and a short allow-list (:data:`ALLOWED_FROM_OPERATOR`,
locale ``LC_*``); ``PATH`` is opsctl's tool path. Nothing else of the operator's
environment (``OPSCTL_SECRET_*``, ``NOMAD_TOKEN``, cloud credentials) reaches it.

The values every scheduler shares (ports, settings, database URIs, the tool path)
come from :mod:`ops_cli.scheduler.shared`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ops_cli.catalog import Catalog, WorkloadSpec
from ops_cli.catalog.placeholders import (
    alerts_context,
    auth_context,
    fill,
    placeholders_in,
    secret_reference,
)
from ops_cli.config.models import EnvironmentConfig, Resources
from ops_cli.errors import ConfigError
from ops_cli.health import ProbeTarget
from ops_cli.scheduler.base import Endpoint
from ops_cli.scheduler.local.launch import OWNER_VARIABLE
from ops_cli.scheduler.shared import (
    constant_values,
    database_uri,
    interpreter,
    missing_tools,
    resolve_ports,
    scrape_basic_auth,
    tool_path,
)
from ops_cli.secrets import SECRET_VAR_PREFIX, SecretStore
from ops_cli.state import StatePaths

__all__ = [
    "ALLOWED_FROM_OPERATOR",
    "LocalWorkload",
    "interpreter",
    "missing_tools",
    "operator_variables",
    "resolve_local_workloads",
    "resolve_ports",
    "tool_path",
]

ALLOWED_FROM_OPERATOR = ("HOME", "LANG", "LANGUAGE", "TZ")
"""Operator variables every local process gets when set, with the locale's ``LC_*``."""


@dataclass(frozen=True)
class LocalWorkload:
    """A workload resolved for this machine."""

    spec: WorkloadSpec
    command: tuple[str, ...]
    env: dict[str, str]
    ports: dict[str, int]
    data_dir: Path
    log_file: Path
    env_file: Path
    probe: ProbeTarget | None
    endpoints: tuple[Endpoint, ...]
    depends_on: tuple[str, ...]
    files: tuple[tuple[Path, str, int], ...] = ()

    @property
    def name(self) -> str:
        """The workload's name in the catalog."""
        return self.spec.name

    def fingerprint(self) -> str:
        """Changes whenever what the process would be started with changes."""
        files = [(str(path), content, mode) for path, content, mode in self.files]
        blob = json.dumps([self.command, sorted(self.env.items()), files], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def operator_variables(patterns: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """The operator's variables a process may see: the allow-list, then ``patterns``
    (names, or prefixes ending in ``*``). A prefix never matches ``OPSCTL_SECRET_*``:
    a secret passes only when a pattern names it whole."""
    names = set(patterns)
    prefixes = tuple(p.removesuffix("*") for p in patterns if p.endswith("*"))

    def allowed(key: str) -> bool:
        if key in ALLOWED_FROM_OPERATOR or key.startswith("LC_") or key in names:
            return True
        return bool(prefixes) and key.startswith(prefixes) and not key.startswith(SECRET_VAR_PREFIX)

    return {key: value for key, value in environ.items() if allowed(key)}


def resolve_local_workloads(
    config: EnvironmentConfig, catalog: Catalog, paths: StatePaths, secrets: SecretStore
) -> list[LocalWorkload]:
    """The enabled workloads of ``config`` as processes to run, in file order.

    Raises :class:`ConfigError` for an unknown workload, port or placeholder, or
    a command whose executable is not installed.
    """
    ports = resolve_ports(config, catalog)
    shared = _shared_context(config, catalog, ports, paths)
    enabled = config.enabled_workloads()
    missing = missing_tools(config, catalog)
    return [
        _resolve_one(
            catalog[name],
            settings.env,
            {**shared, "resources.cores": _cores(settings.resources or catalog[name].resources)},
            ports[name],
            paths,
            secrets,
            enabled,
        )
        for name, settings in enabled.items()
        if name not in missing
    ]


def _cores(resources: Resources) -> str:
    """``resources.cores``: the whole cores reserved, empty for a CPU share in MHz."""
    return str(resources.cores) if resources.cores else ""


def _shared_context(
    config: EnvironmentConfig,
    catalog: Catalog,
    ports: dict[str, dict[str, int]],
    paths: StatePaths,
) -> dict[str, str]:
    host = config.network.bind_host
    context = {
        "bind_host": host,
        "python": interpreter(),
        **constant_values(config),
        "db.mlflow_uri": database_uri(config, "mlflow", str(paths.workload_data("mlflow"))),
        "db.prefect_uri": database_uri(
            config, "prefect", str(paths.workload_data("prefect-server"))
        ),
        **auth_context(config.auth.required, config.auth.api_key_secret),
        **alerts_context(config.monitoring.webhook_url_secret),
        "metrics.scrape_configs": _scrape_configs(config, catalog, ports),
    }
    for name, labels in ports.items():
        for label, port in labels.items():
            context[f"endpoint.{name}.{label}"] = f"http://{host}:{port}"
            context[f"address.{name}.{label}"] = f"{host}:{port}"
    storage_url = config.storage.endpoint_url
    if config.storage.kind == "seaweedfs":
        storage_url = context["endpoint.storage.s3"]
    context["storage.endpoint_url"] = storage_url or ""
    return context


def _scrape_configs(
    config: EnvironmentConfig, catalog: Catalog, ports: dict[str, dict[str, int]]
) -> str:
    """One scrape job per enabled workload that serves metrics, its own port as target
    (with the basic authentication its endpoint demands)."""
    host = config.network.bind_host
    jobs = []
    for name in config.enabled_workloads():
        metrics = catalog[name].metrics
        if metrics is None:
            continue
        target = f"{host}:{ports[name][metrics.port]}"
        job: dict[str, object] = {
            "job_name": name,
            "metrics_path": metrics.path,
            "static_configs": [{"targets": [target], "labels": {"service": name}}],
        }
        auth = scrape_basic_auth(config, catalog[name])
        if auth:
            job["basic_auth"] = auth
        jobs.append(job)
    return json.dumps(jobs)


def _resolve_one(
    spec: WorkloadSpec,
    extra_env: dict[str, str],
    shared: dict[str, str],
    ports: dict[str, int],
    paths: StatePaths,
    secrets: SecretStore,
    enabled: Mapping[str, object],
) -> LocalWorkload:
    data_dir = paths.workload_data(spec.name)
    context = dict(shared)
    context["data_dir"] = str(data_dir)
    context.update({f"port.{label}": str(port) for label, port in ports.items()})
    strings = [*spec.command, *spec.env.values(), *extra_env.values()]
    strings += [f.content for f in spec.files]
    for name in sorted(set().union(*(placeholders_in(s) for s in strings))):
        _add_secret(context, name, secrets)

    def resolve(text: str, where: str) -> str:
        # one more pass: a database URI or the API key may itself be a secret placeholder
        once = fill(text, context, where=where)
        for name in placeholders_in(once):
            _add_secret(context, name, secrets)
        return fill(once, context, where=where)

    where = f"workload '{spec.name}'"
    command = [resolve(part, f"{where} command") for part in spec.command]
    command[0] = _executable(command[0], spec.name)
    env = operator_variables(spec.pass_env, os.environ)
    env["PATH"] = tool_path()  # unless declared: workloads.<name>.env.PATH
    for key, value in {**spec.env, **extra_env}.items():
        resolved = resolve(value, f"{where} env {key}")
        if resolved != "":  # an empty value means "not set", e.g. no S3 endpoint on AWS
            env[key] = resolved
    env[OWNER_VARIABLE] = str(data_dir)
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
        env_file=paths.run / "env" / f"{spec.name}.json",
        probe=_probe_target(spec, host, ports),
        endpoints=tuple(
            Endpoint(e.label, f"http://{host}:{ports[e.port]}{e.path}") for e in spec.endpoints
        ),
        depends_on=tuple(d for d in spec.depends_on if d in enabled),
        files=files,
    )


def _add_secret(context: dict[str, str], name: str, secrets: SecretStore) -> None:
    """Put the value of placeholder ``name`` in ``context`` when it names a secret:
    a required one raises :class:`ConfigError` when unset, an optional one is empty."""
    reference = secret_reference(name)
    if reference is None:
        return
    secret, required = reference
    context[name] = secrets.require(secret) if required else (secrets.get(secret) or "")


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
