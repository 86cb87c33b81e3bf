"""A job whose workload reads the database, when RDS manages the password.

The password stays where RDS keeps and rotates it (Secrets Manager): the
task runs its command through ``workloads.database_password``, which reads
the secret with the instance role at start, hands the password over as
``PGPASSWORD`` and stops the task when RDS rotates it, so Nomad restarts it
with the new one. No copy lives in a Nomad Variable, where it would go stale
at the first rotation (a Nomad template cannot read Secrets Manager).
"""

from __future__ import annotations

from ops_cli.catalog import WorkloadSpec
from ops_cli.catalog.placeholders import placeholders_in
from ops_cli.config.models import EnvironmentConfig
from ops_cli.errors import ConfigError

ENTRYPOINT = ("python", "-m", "workloads.database_password")
DATABASE_PLACEHOLDERS = ("db.mlflow_uri", "db.prefect_uri")


def reads_database(spec: WorkloadSpec) -> bool:
    """Whether the workload's env, command or files use a database URI."""
    texts = [*spec.env.values(), *spec.command, *(f.content for f in spec.files)]
    return any(name in DATABASE_PLACEHOLDERS for text in texts for name in placeholders_in(text))


def with_managed_password(
    config: EnvironmentConfig, spec: WorkloadSpec, command: list[str]
) -> list[str]:
    """``command`` run through the password entrypoint when the database's password
    is RDS-managed and the workload reads the database; else ``command`` itself.

    Raises :class:`ConfigError` when the secret's ARN is not known yet.
    """
    db = config.database
    if not (db.managed_password and reads_database(spec)):
        return command
    if not db.password_secret_arn:
        raise ConfigError(
            f"workload '{spec.name}' reads the database, whose password RDS manages, but the "
            f"secret it is kept in is not known yet for '{config.name}': run `opsctl up` "
            "(it records the database_secret_arn output) or set "
            "database.password_secret_arn (OPSCTL_DATABASE__PASSWORD_SECRET_ARN)"
        )
    return [*ENTRYPOINT, "--secret-arn", db.password_secret_arn, "--", *command]
