"""Which MLflow server and which bucket an environment's release commands use: the
override variables first, then the environment's Discovery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from ops_cli.catalog import load_catalog
from ops_cli.environment import Environment
from ops_cli.errors import OpsError
from ops_cli.release.endpoints import scoped_variable, storage_endpoint, tracking_uri
from ops_cli.secrets import SecretStore
from ops_cli.state import StatePaths
from tests.conftest import environment_config


def env(name: str, tmp_path: Path, **config: object) -> Environment:
    cfg = environment_config({"name": name, **config})
    paths = StatePaths(tmp_path / name)
    return Environment(cfg, load_catalog(), paths, SecretStore(paths.secrets_file, {}))


def up(environment: Environment, registry: dict[str, str]) -> None:
    """The registry file ``opsctl up`` writes: ``{service: [{label, url}]}``."""
    environment.paths.registry_file.parent.mkdir(parents=True, exist_ok=True)
    entries = {name: [{"label": name, "url": url}] for name, url in registry.items()}
    environment.paths.registry_file.write_text(json.dumps(entries))


def test_local_addresses_are_those_the_running_platform_registered(tmp_path: Path) -> None:
    local = env("local-prod", tmp_path, network={"port_base": 18100})
    up(local, {"mlflow": "http://127.0.0.1:18110/", "storage": "http://127.0.0.1:18100/"})
    assert tracking_uri(local, {}) == "http://127.0.0.1:18110"
    assert storage_endpoint(local) == "http://127.0.0.1:18100"


def test_a_local_platform_that_is_not_up_is_named_with_the_variable(tmp_path: Path) -> None:
    local = env("local-prod", tmp_path)
    with pytest.raises(OpsError, match="mlflow is not known; is the platform up") as error:
        tracking_uri(local, {}, shared=False)
    assert "opsctl up --env local-prod" in (error.value.hint or "")
    assert "MLFLOW_TRACKING_URI_LOCAL_PROD" in (error.value.hint or "")


def test_scoped_variable_wins_and_the_shared_one_is_ignored_across_two_envs(tmp_path: Path) -> None:
    local = env("local-prod", tmp_path)
    up(local, {"mlflow": "http://127.0.0.1:18010/"})
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


def test_a_cluster_finds_its_mlflow_through_consul(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.ops_cli.consul.test_consul_discovery_contract import health_entry

    monkeypatch.setenv("CONSUL_HTTP_ADDR", httpserver.url_for("").rstrip("/"))
    prod = env(
        "prod", tmp_path, scheduler="nomad", discovery="consul", nomad={},
        consul={"token_secret": None}, auth={"required": True}, storage={"kind": "s3"},
    )  # fmt: skip
    httpserver.expect_request(
        "/v1/health/service/mlflow", query_string={"passing": "1"}
    ).respond_with_json([health_entry("10.0.1.5", "", 25001)], headers={"X-Consul-Index": "9"})
    assert tracking_uri(prod, {}, shared=False) == "http://10.0.1.5:25001"
    assert storage_endpoint(prod) is None  # AWS S3 through the SDK's chain

    httpserver.clear()
    httpserver.expect_request("/v1/health/service/mlflow").respond_with_json(
        [], headers={"X-Consul-Index": "10"}
    )
    with pytest.raises(OpsError, match="no healthy instance of service 'mlflow'") as error:
        tracking_uri(prod, {}, shared=False)
    assert "MLFLOW_TRACKING_URI_PROD" in (error.value.hint or "")
