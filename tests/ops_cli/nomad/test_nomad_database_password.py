"""The database password RDS manages: the cluster's jobs read it where RDS keeps it.

MLflow and Prefect server run through ``workloads.database_password`` with the
secret's ARN; no job holds the password or reads it from a Nomad Variable; the
ARN and the database's address come from the infrastructure outputs that
``up`` records, and a deploy without them says what to do.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nomad_fixtures as fx
import pytest

from ops_cli.catalog import load_catalog
from ops_cli.config.loader import load_environment
from ops_cli.environment import open_environment
from ops_cli.errors import ConfigError
from ops_cli.provision import flow
from ops_cli.provision.base import Outputs
from ops_cli.scheduler.nomad.render import render_job, render_jobs

REPO = Path(__file__).resolve().parents[3]
READS_DATABASE = {"mlflow", "prefect-server"}


def main_task(job: dict) -> dict:
    return job["TaskGroups"][0]["Tasks"][-1]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_only_the_workloads_that_read_the_database_run_through_the_entrypoint(env: str) -> None:
    config = load_environment(env, REPO / "environments", environ=fx.APPLIED)

    for name, job in render_jobs(config, load_catalog()).items():
        task = main_task(job)
        args = [task["Config"]["command"], *task["Config"]["args"]]
        wrapped = args[:3] == ["python", "-m", "workloads.database_password"]
        assert wrapped is (name in READS_DATABASE), name
        templates = json.dumps(task.get("Templates") or [])
        assert "database_password" not in templates  # no copy in a Nomad Variable
        if wrapped:
            assert args[3:6] == ["--secret-arn", fx.DATABASE_SECRET_ARN, "--"]
            uri = next(v for k, v in task["Env"].items() if "DATABASE" in k or "STORE_URI" in k)
            assert uri.split("://")[1].startswith(f"platform@{fx.DATABASE_HOST}:5432/")


def test_the_urls_name_the_drivers_the_image_installs() -> None:
    config = load_environment("staging", REPO / "environments", environ=fx.APPLIED)
    catalog = load_catalog()

    mlflow = main_task(render_job(config, catalog, "mlflow"))["Env"]["MLFLOW_BACKEND_STORE_URI"]
    prefect = main_task(render_job(config, catalog, "prefect-server"))["Env"][
        "PREFECT_API_DATABASE_CONNECTION_URL"
    ]

    # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which the image lacks
    assert mlflow.startswith("postgresql+psycopg2://")
    assert prefect.startswith("postgresql+asyncpg://")


def test_the_entrypoint_the_jobs_name_exists() -> None:
    assert importlib.util.find_spec("workloads.database_password.__main__") is not None


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("OPSCTL_DATABASE__PASSWORD_SECRET_ARN", "OPSCTL_DATABASE__PASSWORD_SECRET_ARN"),
        ("OPSCTL_DATABASE__HOST", "OPSCTL_DATABASE__HOST"),
    ],
)
def test_a_deploy_before_the_infrastructure_is_known_says_what_to_do(
    missing: str, named: str
) -> None:
    environ = {k: v for k, v in fx.APPLIED.items() if k != missing}
    config = load_environment("staging", REPO / "environments", environ=environ)

    with pytest.raises(ConfigError) as caught:
        render_job(config, load_catalog(), "mlflow")

    assert named in str(caught.value) and "opsctl up" in str(caught.value)


def test_up_fills_the_address_and_the_secret_from_the_outputs(
    environments_dir: Path, tmp_path: Path
) -> None:
    environ = {"OPSCTL_STATE_DIR": str(tmp_path / "state"), "OPSCTL_IMAGE__DIGEST": fx.DIGEST}
    env = open_environment("staging", environments_dir=environments_dir, environ=environ)
    flow.store_outputs(
        env,
        Outputs(
            {
                "database_endpoint": "crm-staging.c1.eu-west-1.rds.amazonaws.com:6432",
                "database_secret_arn": fx.DATABASE_SECRET_ARN,
            }
        ),
    )

    db = env.cluster_config().database

    assert (db.host, db.port) == ("crm-staging.c1.eu-west-1.rds.amazonaws.com", 6432)
    assert db.password_secret_arn == fx.DATABASE_SECRET_ARN
    job = render_job(env.cluster_config(), env.catalog, "mlflow")
    assert fx.DATABASE_SECRET_ARN in main_task(job)["Config"]["args"]


def test_values_in_the_file_or_variables_win_over_the_outputs(
    environments_dir: Path, tmp_path: Path
) -> None:
    environ = {"OPSCTL_STATE_DIR": str(tmp_path / "state"), **fx.APPLIED}
    env = open_environment("staging", environments_dir=environments_dir, environ=environ)
    flow.store_outputs(
        env,
        Outputs({"database_endpoint": "other:5432", "database_secret_arn": "arn:other"}),
    )

    db = env.cluster_config().database

    assert (db.host, db.password_secret_arn) == (fx.DATABASE_HOST, fx.DATABASE_SECRET_ARN)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"OPSCTL_DATABASE__PASSWORD_SECRET": "database-password"}, "exclude each other"),
        (
            {"OPSCTL_DATABASE__PASSWORD_SECRET_ARN": "database-password"},
            "OPSCTL_DATABASE__PASSWORD_SECRET_ARN: database.password_secret_arn: String should",
        ),
    ],
)
def test_contradictory_or_malformed_password_settings_are_refused(
    override: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_environment("staging", REPO / "environments", environ=override)
    assert caught.value.exit_code == 2


def test_a_managed_password_needs_rds(environments_dir: Path) -> None:
    (environments_dir / "local.yaml").write_text(
        "database: {kind: postgresql, host: 127.0.0.1, user: ops, managed_password: true}\n"
    )
    with pytest.raises(ConfigError, match="managed_password needs an 'aws' section"):
        load_environment("local", environments_dir, environ={})
