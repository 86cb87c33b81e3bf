"""The values both schedulers take from ``ops_cli.scheduler.shared``: one database URI,
one set of plain placeholder values, whichever scheduler renders them."""

from __future__ import annotations

import pytest

from ops_cli.config.models import EnvironmentConfig
from ops_cli.errors import ConfigError
from ops_cli.scheduler.shared import constant_values, database_uri
from tests.conftest import environment_config

AWS = {"region": "eu-west-1"}


def _postgres(**database: object) -> EnvironmentConfig:
    return environment_config(
        {"name": "staging", "database": {"kind": "postgresql", "user": "crm", **database}}
    )


def test_sqlite_files_sit_in_the_folder_each_scheduler_names() -> None:
    config = environment_config({"name": "local"})
    assert database_uri(config, "mlflow", "/state/mlflow") == "sqlite:////state/mlflow/mlflow.db"
    assert (
        database_uri(config, "prefect", "${data_dir}")
        == "sqlite+aiosqlite:///${data_dir}/prefect.db"
    )


def test_postgres_names_its_drivers_and_keeps_the_password_a_secret_placeholder() -> None:
    config = _postgres(host="db.internal", password_secret="db-password", sslmode="require")
    assert database_uri(config, "mlflow", "unused") == (
        "postgresql+psycopg2://crm:${secret.db-password}@db.internal:5432/mlflow?sslmode=require"
    )
    assert database_uri(config, "prefect", "unused") == (
        "postgresql+asyncpg://crm:${secret.db-password}@db.internal:5432/prefect"
    )


def test_a_managed_password_never_appears_in_the_uri() -> None:
    config = environment_config(
        {
            "name": "staging",
            "provisioner": "terraform",
            "aws": AWS,
            "database": {
                "kind": "postgresql",
                "user": "crm",
                "host": "db",
                "managed_password": True,
            },
        }
    )
    assert database_uri(config, "mlflow", "unused").startswith("postgresql+psycopg2://crm@db:")


def test_an_unknown_database_host_is_an_error_naming_the_setting() -> None:
    config = environment_config(
        {
            "name": "staging",
            "provisioner": "terraform",
            "aws": AWS,
            "database": {"kind": "postgresql", "user": "crm", "managed_password": True},
        }
    )
    with pytest.raises(ConfigError, match="database.host"):
        database_uri(config, "prefect", "unused")


def test_constant_values_carry_the_settings_and_a_deploy_may_serve_another_alias() -> None:
    config = environment_config({"name": "local"})
    values = constant_values(config)
    assert values["env.name"] == "local"
    assert values["registry.champion_alias"] == "champion"
    assert values["bucket.releases"] == "releases"
    assert constant_values(config, champion_alias="challenger")["registry.champion_alias"] == (
        "challenger"
    )
