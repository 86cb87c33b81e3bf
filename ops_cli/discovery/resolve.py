"""Where a service of an environment answers, for every command that talks to one.

One order everywhere: the override variable the service's own clients read
(``MLFLOW_TRACKING_URI``, ``PREFECT_API_URL``, ...) when it is set, then the
environment's :class:`~ops_cli.discovery.base.Discovery` (the registry file
``opsctl up`` writes locally, Consul in a cluster).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ops_cli.errors import OpsError

if TYPE_CHECKING:
    from ops_cli.environment import Environment


def service_url(
    env: Environment,
    service: str,
    variable: str | None = None,
    suffix: str = "",
    *,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The base URL of ``service`` in ``env``, without a trailing slash.

    ``variable`` (when named and set in ``environ``, default the process
    environment) wins as it is; otherwise the scheme, host and port of the first
    instance Discovery returns (never the path of a documentation page the local
    registry lists), followed by ``suffix`` (e.g. ``/api``). Raises :class:`OpsError` naming the
    service and the variable when Discovery knows no instance, and Discovery's
    own errors (Consul unreachable, a token that may not see the service).
    """
    environ = os.environ if environ is None else environ
    if variable and environ.get(variable):
        return environ[variable].rstrip("/")
    found = env.discovery().resolve(service)
    if found:
        parsed = urllib.parse.urlsplit(found[0].url)
        return f"{parsed.scheme}://{parsed.netloc}{suffix}"
    instead = f" or set {variable}" if variable else ""
    if env.config.discovery == "static":
        raise OpsError(
            f"environment '{env.name}': {service} is not known; is the platform up?",
            hint=f"run `opsctl up --env {env.name}`{instead}",
        )
    raise OpsError(
        f"environment '{env.name}': {env.config.discovery} knows no healthy instance of "
        f"service '{service}'",
        hint=f"check `opsctl status --env {env.name}`{instead}",
    )


def storage_endpoint(env: Environment) -> str | None:
    """The S3 endpoint of ``env``: the local gateway (the ``storage`` service) for a
    local SeaweedFS, else ``storage.endpoint_url`` (normally None: AWS S3)."""
    storage = env.config.storage
    if storage.kind == "seaweedfs" and env.config.is_local:
        return service_url(env, "storage")
    return storage.endpoint_url
