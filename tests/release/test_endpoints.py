"""Which MLflow server and which bucket an environment's release commands use."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_cli.catalog import load_catalog
from ops_cli.config.models import EnvironmentConfig
from ops_cli.environment import Environment
from ops_cli.errors import ConfigError
from ops_cli.release.endpoints import scoped_variable, storage_endpoint, tracking_uri
from ops_cli.secrets import SecretStore
from ops_cli.state import StatePaths


def env(name: str, tmp_path: Path, **config: object) -> Environment:
    cfg = EnvironmentConfig.model_validate({"name": name, **config})
    paths = StatePaths(tmp_path / name)
    return Environment(cfg, load_catalog(), paths, SecretStore(paths.secrets_file, {}))


def test_local_addresses_follow_the_port_base(tmp_path: Path) -> None:
    local = env("local-prod", tmp_path, network={"port_base": 18100})
    assert tracking_uri(local, {}) == "http://127.0.0.1:18110"
    assert storage_endpoint(local) == "http://127.0.0.1:18100"


def test_scoped_variable_wins_and_the_shared_one_is_ignored_across_two_envs(tmp_path: Path) -> None:
    local = env("local-prod", tmp_path)
    assert scoped_variable("local-prod") == "MLFLOW_TRACKING_URI_LOCAL_PROD"
    environ = {
        "MLFLOW_TRACKING_URI": "http://shared/",
        "MLFLOW_TRACKING_URI_LOCAL_PROD": "http://p/",
    }
    assert tracking_uri(local, environ) == "http://p"
    assert tracking_uri(local, {"MLFLOW_TRACKING_URI": "http://shared/"}) == "http://shared"
    assert tracking_uri(local, {"MLFLOW_TRACKING_URI": "http://shared/"}, shared=False) == (
        "http://127.0.0.1:18010"
    )


def test_a_cluster_needs_a_variable_naming_its_mlflow(tmp_path: Path) -> None:
    prod = env(
        "prod", tmp_path, scheduler="nomad", discovery="consul", nomad={}, consul={},
        auth={"required": True}, storage={"kind": "s3"},
    )  # fmt: skip
    with pytest.raises(ConfigError, match="MLFLOW_TRACKING_URI_PROD") as error:
        tracking_uri(prod, {}, shared=False)
    assert error.value.exit_code == 2
    assert storage_endpoint(prod) is None  # AWS S3 through the SDK's chain
