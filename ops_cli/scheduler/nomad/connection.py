"""Where the Nomad API is and who we are to it.

Precedence, as for the ``nomad`` CLI: ``NOMAD_ADDR``, ``NOMAD_TOKEN``,
``NOMAD_NAMESPACE``, ``NOMAD_REGION``, ``NOMAD_CACERT``, ``NOMAD_CLIENT_CERT`` and
``NOMAD_CLIENT_KEY`` first, then the environment's ``nomad`` section; the token otherwise comes from the secret
store (``nomad.token_secret``), never from YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ops_cli.config.models import EnvironmentConfig
from ops_cli.connection import ca_bundle, client_certificate, require_tls, resolve_token
from ops_cli.errors import ConfigError
from ops_cli.secrets import SecretStore

DEFAULT_ADDRESS = "http://127.0.0.1:4646"


@dataclass(frozen=True)
class NomadConnection:
    """How to reach one Nomad cluster. ``token`` is hidden from ``repr``."""

    address: str
    namespace: str
    region: str | None = None
    token: str | None = field(default=None, repr=False)
    verify: bool | str = True
    cert: tuple[str, str] | None = None
    """Client certificate and key presented to a cluster that verifies its callers."""
    token_source: str = "NOMAD_TOKEN"
    """Where the token came from (or may be set), for permission errors."""


def nomad_connection(
    config: EnvironmentConfig, secrets: SecretStore, environ: Mapping[str, str]
) -> NomadConnection:
    """The connection of ``config``; raises :class:`ConfigError` without a nomad section."""
    nomad = config.nomad
    if nomad is None:
        raise ConfigError(f"environment '{config.name}' has no 'nomad' section")
    address = environ.get("NOMAD_ADDR") or nomad.address or DEFAULT_ADDRESS
    if "://" not in address:
        address = f"http://{address}"
    setting = "NOMAD_ADDR" if environ.get("NOMAD_ADDR") else "nomad.address"
    require_tls(nomad.require_tls, address, setting, config.name)
    token = resolve_token(environ, "NOMAD_TOKEN", secrets, nomad.token_secret)
    return NomadConnection(
        address=address.rstrip("/"),
        namespace=environ.get("NOMAD_NAMESPACE") or nomad.namespace,
        region=environ.get("NOMAD_REGION") or nomad.region,
        token=token.value,
        verify=ca_bundle(environ, "NOMAD_CACERT", nomad.ca_cert, "nomad.ca_cert"),
        cert=client_certificate(environ, "NOMAD", (nomad.client_cert, nomad.client_key), "nomad"),
        token_source=token.source,
    )
