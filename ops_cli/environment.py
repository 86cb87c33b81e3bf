"""An environment opened for work: its config, catalog, state directory and secrets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ops_cli.catalog import Catalog, load_catalog
from ops_cli.config import EnvironmentConfig, load_environment
from ops_cli.discovery.base import Discovery
from ops_cli.errors import ConfigError
from ops_cli.scheduler.base import Scheduler
from ops_cli.secrets import SecretStore, secret_variable
from ops_cli.state import StatePaths, read_json, state_paths

TELEMETRY_OFF = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
"""What turns off the usage reporting of the libraries opsctl's own processes load:
MLflow's client reads ``MLFLOW_DISABLE_TELEMETRY``, and ``DO_NOT_TRACK`` only when it
is ``true``. Set unless the environment opts in (``telemetry.report_usage``)."""


@dataclass(frozen=True)
class Environment:
    """Everything a command needs to act on one environment."""

    config: EnvironmentConfig
    catalog: Catalog
    paths: StatePaths
    secrets: SecretStore

    @property
    def name(self) -> str:
        """The environment's name (its file's name, ``config.name``)."""
        return self.config.name

    def scheduler(self, *, inspect_only: bool = False) -> Scheduler:
        """The scheduler the environment names, built for its enabled workloads.

        With ``inspect_only`` (status, logs, down) unset secrets are not an
        error: those commands read state and never start anything.
        """
        from ops_cli.scheduler.factory import build_scheduler

        return build_scheduler(self, inspect_only=inspect_only)

    def discovery(self) -> Discovery:
        """How services of this environment are found: the registry file ``opsctl up``
        writes (``static``), or Consul (``consul``; connection as for the scheduler:
        ``CONSUL_*`` variables, then config, then what provisioning recorded)."""
        if self.config.discovery == "consul":
            from ops_cli.discovery.consul import ConsulDiscovery, consul_connection

            prefix = self.config.consul.kv_prefix if self.config.consul else "opsctl"
            connection = consul_connection(self.config, self.secrets, self.cluster_environ())
            return ConsulDiscovery(connection, kv_prefix=prefix)
        from ops_cli.discovery.static import StaticDiscovery

        return StaticDiscovery(self.paths.registry_file)

    def cluster_environ(self) -> dict[str, str]:
        """The process environment, plus ``NOMAD_ADDR``/``CONSUL_HTTP_ADDR`` from the
        last infrastructure apply when neither the variables nor the config name them.

        Precedence stays as the HashiCorp CLIs have it: variables, then config,
        then what provisioning recorded.
        """
        environ = dict(os.environ)
        outputs = read_json(self.paths.infra_outputs_file) or {}
        nomad, consul = self.config.nomad, self.config.consul
        if outputs.get("nomad_addr") and not (
            environ.get("NOMAD_ADDR") or (nomad and nomad.address)
        ):
            environ["NOMAD_ADDR"] = outputs["nomad_addr"]
        consul_set = environ.get("CONSUL_HTTP_ADDR") or (consul and consul.address)
        if outputs.get("consul_addr") and not consul_set:
            environ["CONSUL_HTTP_ADDR"] = outputs["consul_addr"]
        return environ

    def cluster_config(self) -> EnvironmentConfig:
        """The config, with what the last infrastructure apply recorded filling the
        database settings the file leaves out: ``host``/``port`` from the
        ``database_endpoint`` output and, for an RDS-managed password, the secret's
        ARN from ``database_secret_arn``. Values in the file or in ``OPSCTL_*``
        variables win."""
        from ops_cli.provision.outputs import database_from_outputs

        outputs = read_json(self.paths.infra_outputs_file) or {}
        return database_from_outputs(self.config, outputs)

    def require_api_key(self) -> None:
        """Fail closed: with ``auth.required`` the prediction service's API key must be
        set and not blank. A local environment's missing key is no error, because
        ``up`` generates it; a cluster's comes from the secret store
        (``OPSCTL_SECRET_<NAME>``) and is written where its jobs read it.

        Raises :class:`ConfigError` naming the environment and the secret.
        """
        auth = self.config.auth
        if not auth.required:
            return
        value = self.secrets.get(auth.api_key_secret)
        if value is None and self.config.is_local:
            return
        if value is not None and value.strip():
            return
        state = "not set" if value is None else "empty"
        raise ConfigError(
            f"environment '{self.name}' requires authentication (auth.required) but the "
            f"prediction service's API key, secret '{auth.api_key_secret}', is {state}; "
            f"export {secret_variable(auth.api_key_secret)} or put it in {self.secrets.file}"
        )

    def local_secret_names(self) -> list[str]:
        """Secrets opsctl may generate itself: only those of a local environment."""
        if not self.config.is_local:
            return []
        names = [self.config.storage.access_key_secret, self.config.storage.secret_key_secret]
        if self.config.auth.required:
            names.append(self.config.auth.api_key_secret)
        if self.config.database.kind == "postgresql":
            # a server with trust auth ignores it; one that checks passwords takes the
            # user's own from OPSCTL_SECRET_<NAME>, which wins over the generated one
            names.append(self.config.database.password_secret)
        names += self.config.service_auth.secret_names()
        return [n for n in names if n]


def open_environment(
    name: str,
    *,
    environments_dir: Path | None = None,
    catalog_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Environment:
    """Load and check environment ``name``; raises :class:`ConfigError` when invalid."""
    environ = os.environ if environ is None else environ
    config = load_environment(name, environments_dir, environ)
    catalog = load_catalog(catalog_dir)
    unknown = [w for w in config.workloads if w not in catalog.specs]
    if unknown:
        raise ConfigError(
            f"environment '{name}': workloads {unknown} are not in the catalog; "
            f"known: {', '.join(sorted(catalog.specs))}"
        )
    if environ is os.environ and not config.telemetry.report_usage:
        # opsctl's own processes load MLflow's client, which reports usage by default
        os.environ.update(TELEMETRY_OFF)
    paths = state_paths(config)
    return Environment(config, catalog, paths, SecretStore(paths.secrets_file, environ))
