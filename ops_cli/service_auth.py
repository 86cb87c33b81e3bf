"""How opsctl signs in to its environment's MLflow and Prefect, and keeps its own usage
reporting off.

Loopback is no trust boundary on a shared host: MLflow runs its basic-auth app and
the Prefect server demands an auth string and CSRF tokens in every environment
(``service_auth`` in the configuration). The credentials are secrets of the
environment (``OPSCTL_SECRET_<NAME>`` or, locally, the generated secrets file);
when one is set nowhere, the variables the operator exported for the tools
(``MLFLOW_TRACKING_USERNAME``/``PASSWORD``, ``PREFECT_API_AUTH_STRING``) apply as
they are.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ops_cli.environment import TELEMETRY_OFF, Environment

MLFLOW_USERNAME = "MLFLOW_TRACKING_USERNAME"
MLFLOW_PASSWORD = "MLFLOW_TRACKING_PASSWORD"
PREFECT_AUTH = "PREFECT_API_AUTH_STRING"


@dataclass(frozen=True)
class ServiceCredentials:
    """The credentials of one environment's MLflow and Prefect; None when unset."""

    mlflow_username: str
    mlflow_password: str | None = field(default=None, repr=False)
    prefect_auth_string: str | None = field(default=None, repr=False)

    def mlflow_variables(self) -> dict[str, str]:
        """``MLFLOW_TRACKING_USERNAME``/``PASSWORD``, or nothing without a password."""
        if not self.mlflow_password:
            return {}
        return {MLFLOW_USERNAME: self.mlflow_username, MLFLOW_PASSWORD: self.mlflow_password}

    def prefect_variables(self) -> dict[str, str]:
        """``PREFECT_API_AUTH_STRING`` (and the client's CSRF support), or nothing."""
        if not self.prefect_auth_string:
            return {}
        return {
            PREFECT_AUTH: self.prefect_auth_string,
            "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "true",
        }

    def prefect_header(self) -> dict[str, str]:
        """The ``Authorization`` header the Prefect server checks, as its client sends it."""
        auth = self.prefect_auth_string or os.environ.get(PREFECT_AUTH)
        if not auth:
            return {}
        return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}


def credentials(env: Environment) -> ServiceCredentials:
    """The service credentials of ``env`` from its secret store."""
    names = env.config.service_auth
    return ServiceCredentials(
        mlflow_username=names.mlflow_username,
        mlflow_password=env.secrets.get(names.mlflow_password_secret),
        prefect_auth_string=env.secrets.get(names.prefect_auth_secret),
    )


def client_environ(env: Environment) -> dict[str, str]:
    """The variables a client process of ``env`` needs besides its URLs: the service
    credentials and, unless the environment opts in to usage reporting, what turns
    the libraries' reporting off."""
    creds = credentials(env)
    quiet = {} if env.config.telemetry.report_usage else TELEMETRY_OFF
    return {**quiet, **creds.mlflow_variables(), **creds.prefect_variables()}


@contextmanager
def mlflow_signed_in(creds: ServiceCredentials) -> Iterator[None]:
    """Within the block, the MLflow client signs in with ``creds``.

    MLflow's client reads its credentials from the process environment at every
    request; a command that talks to two registries (``promote``) signs in to
    each in turn. Without a password the operator's own variables stay.
    """
    variables = creds.mlflow_variables()
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
