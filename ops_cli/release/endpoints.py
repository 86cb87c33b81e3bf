"""Where an environment's releases bucket and model registry answer.

Registry: ``MLFLOW_TRACKING_URI_<ENV>`` (e.g. ``MLFLOW_TRACKING_URI_PROD``, for
commands that touch two environments), then ``MLFLOW_TRACKING_URI`` (commands
that touch one), then the environment's Discovery (the registry file of a local
environment that is up, Consul in a cluster; see :mod:`ops_cli.discovery.resolve`).

Storage: locally the SeaweedFS gateway with the environment's generated keys;
in the cloud ``storage.endpoint_url`` (normally none: AWS S3) with the AWS
SDK's own credential chain when the environment names no key secrets.
"""

from __future__ import annotations

from collections.abc import Mapping

from ops_cli.bootstrap import s3_client
from ops_cli.discovery.resolve import service_url, storage_endpoint
from ops_cli.environment import Environment
from ops_cli.release.store import ReleaseStore

__all__ = ["open_store", "scoped_variable", "storage_endpoint", "tracking_uri"]


def scoped_variable(env_name: str) -> str:
    """The tracking-URI variable of one environment: ``MLFLOW_TRACKING_URI_<ENV>``."""
    return "MLFLOW_TRACKING_URI_" + env_name.upper().replace("-", "_")


def tracking_uri(env: Environment, environ: Mapping[str, str], *, shared: bool = True) -> str:
    """The MLflow tracking URI of ``env``. With ``shared`` False (two environments in
    one command) the unscoped ``MLFLOW_TRACKING_URI`` is not used, since it cannot
    name both registries. Raises :class:`~ops_cli.errors.OpsError` naming the
    variable to set when Discovery knows no MLflow server."""
    scoped = scoped_variable(env.name)
    if environ.get(scoped):
        return environ[scoped].rstrip("/")
    variable = "MLFLOW_TRACKING_URI" if shared else scoped
    return service_url(env, "mlflow", variable, environ=environ)


def open_store(env: Environment) -> ReleaseStore:
    """The releases bucket of ``env``."""
    storage = env.config.storage
    access = env.secrets.require(storage.access_key_secret) if storage.access_key_secret else None
    secret = env.secrets.require(storage.secret_key_secret) if storage.secret_key_secret else None
    client = s3_client(storage_endpoint(env), access, secret, storage.region)
    bucket = storage.buckets.releases
    return ReleaseStore(client, bucket, f"{env.name}: s3://{bucket}")
