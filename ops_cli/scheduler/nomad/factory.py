"""Build the Nomad scheduler of an environment (called by :mod:`ops_cli.scheduler.factory`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ops_cli.catalog import Catalog
from ops_cli.config.models import EnvironmentConfig
from ops_cli.secrets import SecretStore

if TYPE_CHECKING:
    from ops_cli.scheduler.nomad.scheduler import NomadScheduler


def build_nomad_scheduler(
    config: EnvironmentConfig,
    catalog: Catalog,
    secrets: SecretStore,
    environ: Mapping[str, str] | None = None,
) -> NomadScheduler:
    """The scheduler of a ``scheduler: nomad`` environment, with Consul discovery
    for endpoints when the environment uses it. ``environ`` defaults to the
    process environment (``NOMAD_*``/``CONSUL_*`` override the config)."""
    from ops_cli.scheduler.nomad.client import NomadClient
    from ops_cli.scheduler.nomad.connection import nomad_connection
    from ops_cli.scheduler.nomad.scheduler import NomadScheduler

    environ = os.environ if environ is None else environ
    client = NomadClient(nomad_connection(config, secrets, environ))
    discovery = None
    if config.discovery == "consul":
        from ops_cli.discovery.consul import ConsulDiscovery, consul_connection

        prefix = config.consul.kv_prefix if config.consul else "opsctl"
        discovery = ConsulDiscovery(consul_connection(config, secrets, environ), kv_prefix=prefix)
    held = {}
    if config.auth.required and (key := secrets.get(config.auth.api_key_secret)):
        held[config.auth.api_key_secret] = key
    return NomadScheduler(config, catalog, client, discovery=discovery, secret_values=held)
