"""Where an environment's releases bucket and model registry answer.

Registry: ``MLFLOW_TRACKING_URI_<ENV>`` (e.g. ``MLFLOW_TRACKING_URI_PROD``, for
commands that touch two environments), then ``MLFLOW_TRACKING_URI`` (commands
that touch one), then, locally, ``http://<bind_host>:<mlflow port>``. Cluster
environments have no address opsctl can reach by itself (MLflow sits inside
the VPC), so one of the variables must name it.

Storage: locally the SeaweedFS gateway with the environment's generated keys;
in the cloud ``storage.endpoint_url`` (normally none: AWS S3) with the AWS
SDK's own credential chain when the environment names no key secrets.
"""

from __future__ import annotations

from collections.abc import Mapping

from ops_cli.bootstrap import s3_client
from ops_cli.environment import Environment
from ops_cli.errors import ConfigError
from ops_cli.release.store import ReleaseStore


def scoped_variable(env_name: str) -> str:
    """The tracking-URI variable of one environment: ``MLFLOW_TRACKING_URI_<ENV>``."""
    return "MLFLOW_TRACKING_URI_" + env_name.upper().replace("-", "_")


def tracking_uri(env: Environment, environ: Mapping[str, str], *, shared: bool = True) -> str:
    """The MLflow tracking URI of ``env``. With ``shared`` False (two environments in
    one command) the unscoped ``MLFLOW_TRACKING_URI`` is not used, since it cannot
    name both registries."""
    scoped = environ.get(scoped_variable(env.name))
    if scoped:
        return scoped.rstrip("/")
    if shared and environ.get("MLFLOW_TRACKING_URI"):
        return environ["MLFLOW_TRACKING_URI"].rstrip("/")
    if env.config.is_local:
        from ops_cli.scheduler.local.workload import resolve_ports

        port = resolve_ports(env.config, env.catalog)["mlflow"]["http"]
        return f"http://{env.config.network.bind_host}:{port}"
    names = scoped_variable(env.name) + ("" if not shared else " or MLFLOW_TRACKING_URI")
    raise ConfigError(f"environment '{env.name}': set {names} to its MLflow server's URL")


def storage_endpoint(env: Environment) -> str | None:
    """The S3 endpoint of ``env``: its local gateway, its configured URL, or AWS S3 (None)."""
    storage = env.config.storage
    if storage.kind == "seaweedfs" and env.config.is_local:
        from ops_cli.scheduler.local.workload import resolve_ports

        port = resolve_ports(env.config, env.catalog)["storage"]["s3"]
        return f"http://{env.config.network.bind_host}:{port}"
    return storage.endpoint_url


def open_store(env: Environment) -> ReleaseStore:
    """The releases bucket of ``env``."""
    storage = env.config.storage
    access = env.secrets.require(storage.access_key_secret) if storage.access_key_secret else None
    secret = env.secrets.require(storage.secret_key_secret) if storage.secret_key_secret else None
    client = s3_client(storage_endpoint(env), access, secret, storage.region)
    bucket = storage.buckets.releases
    return ReleaseStore(client, bucket, f"{env.name}: s3://{bucket}")
