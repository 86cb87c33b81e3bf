"""What the infrastructure's outputs tell the workloads about the database.

The database's address and the secret RDS keeps its managed password in exist
only once the infrastructure is applied; ``up`` records the outputs
(``database_endpoint``, ``database_secret_arn``) in the environment's state
folder, and the cluster's jobs are rendered from the config completed with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ops_cli.config.models import EnvironmentConfig


def database_from_outputs(
    config: EnvironmentConfig, outputs: Mapping[str, Any]
) -> EnvironmentConfig:
    """``config`` with ``database.host``/``port`` from ``database_endpoint``
    (``host:port``) and, for a managed password, ``database.password_secret_arn``
    from ``database_secret_arn``, each only where the config leaves it unset."""
    db = config.database
    if db.kind != "postgresql":
        return config
    update: dict[str, Any] = {}
    endpoint = str(outputs.get("database_endpoint") or "")
    if not db.host and endpoint:
        host, _, port = endpoint.rpartition(":")
        update.update(host=host or endpoint, port=int(port) if port.isdigit() else db.port)
    arn = outputs.get("database_secret_arn")
    if db.managed_password and not db.password_secret_arn and arn:
        update["password_secret_arn"] = str(arn)
    if not update:
        return config
    return config.model_copy(update={"database": db.model_copy(update=update)})
