"""Where the Nomad API is and who we are to it.

Precedence, as for the ``nomad`` CLI: ``NOMAD_ADDR``, ``NOMAD_TOKEN``,
``NOMAD_NAMESPACE``, ``NOMAD_REGION`` and ``NOMAD_CACERT`` first, then the
environment's ``nomad`` section; the token otherwise comes from the secret
store (``nomad.token_secret``), never from YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ops_cli.config.models import EnvironmentConfig
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
    token = environ.get("NOMAD_TOKEN") or (
        secrets.get(nomad.token_secret) if nomad.token_secret else None
    )
    return NomadConnection(
        address=address.rstrip("/"),
        namespace=environ.get("NOMAD_NAMESPACE") or nomad.namespace,
        region=environ.get("NOMAD_REGION") or nomad.region,
        token=token or None,
        verify=environ.get("NOMAD_CACERT") or True,
    )
