"""An environment opened for work: its config, catalog, state directory and secrets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ops_cli.catalog import Catalog, load_catalog
from ops_cli.config import EnvironmentConfig, load_environment
from ops_cli.errors import ConfigError
from ops_cli.scheduler.base import Scheduler
from ops_cli.secrets import SecretStore
from ops_cli.state import StatePaths, read_json, state_paths


@dataclass(frozen=True)
class Environment:
    """Everything a command needs to act on one environment."""

    config: EnvironmentConfig
    catalog: Catalog
    paths: StatePaths
    secrets: SecretStore

    @property
    def name(self) -> str:
        return self.config.name

    def scheduler(self, *, inspect_only: bool = False) -> Scheduler:
        """The scheduler the environment names, built for its enabled workloads.

        With ``inspect_only`` (status, logs, down) unset secrets are not an
        error: those commands read state and never start anything.
        """
        secrets = self.secrets.lenient() if inspect_only else self.secrets
        if self.config.scheduler == "local":
            from ops_cli.scheduler.local.scheduler import LocalScheduler
            from ops_cli.scheduler.local.workload import resolve_local_workloads

            workloads = resolve_local_workloads(self.config, self.catalog, self.paths, secrets)
            return LocalScheduler(self.config, workloads, self.paths)
        if self.config.scheduler == "nomad":
            from ops_cli.scheduler.nomad.factory import build_nomad_scheduler

            return build_nomad_scheduler(
                self.config, self.catalog, self.secrets, self.cluster_environ()
            )
        raise ConfigError(
            f"environment '{self.name}': scheduler '{self.config.scheduler}' is not available "
            "in this installation"
        )

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

    def local_secret_names(self) -> list[str]:
        """Secrets opsctl may generate itself: only those of a local environment."""
        if not self.config.is_local:
            return []
        names = [self.config.storage.access_key_secret, self.config.storage.secret_key_secret]
        if self.config.auth.required:
            names.append(self.config.auth.api_key_secret)
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
    paths = state_paths(config)
    return Environment(config, catalog, paths, SecretStore(paths.secrets_file, environ))
