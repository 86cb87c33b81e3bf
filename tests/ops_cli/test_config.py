"""Environment configuration: merging, overrides and the errors users see."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_cli.config.loader import deep_merge, load_environment
from ops_cli.errors import ConfigError


def test_every_shipped_environment_loads(environments_dir: Path) -> None:
    local = load_environment("local", environments_dir, environ={})
    staging = load_environment("staging", environments_dir, environ={})
    prod = load_environment("prod", environments_dir, environ={})
    assert (local.scheduler, local.discovery, local.provisioner) == ("local", "static", "none")
    assert (staging.scheduler, staging.discovery) == ("nomad", "consul")
    assert prod.aws is not None and prod.aws.multi_az
    assert "storage" not in prod.enabled_workloads()  # S3 replaces the embedded gateway


def test_environment_file_overrides_base_key_by_key(environments_dir: Path) -> None:
    prod = load_environment("prod", environments_dir, environ={})
    assert prod.workloads["mlflow"].count == 2
    # resources come from base.yaml, the count from prod.yaml
    assert prod.workloads["mlflow"].resources is not None
    assert prod.workloads["mlflow"].resources.memory_mb == 1024


def test_deep_merge_replaces_lists_and_scalars() -> None:
    merged = deep_merge({"a": {"b": 1, "c": [1, 2]}, "d": 1}, {"a": {"c": [3]}, "d": 2})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 2}


def test_variables_override_files_with_typed_values(environments_dir: Path) -> None:
    environ = {
        "OPSCTL_NETWORK__PORT_BASE": "19100",
        "OPSCTL_STATE_DIR": "/tmp/somewhere",
        "OPSCTL_WORKLOADS__MLFLOW__ENABLED": "false",
        "OPSCTL_ENV": "ignored-reserved",
        "OPSCTL_SECRET_S3_ACCESS_KEY": "not-a-config-key",
    }
    config = load_environment("local", environments_dir, environ=environ)
    assert config.network.port_base == 19100
    assert str(config.state_dir) == "/tmp/somewhere"
    assert "mlflow" not in config.enabled_workloads()


def test_unknown_key_names_file_key_and_allowed_keys(environments_dir: Path) -> None:
    (environments_dir / "local.yaml").write_text("network:\n  port_bsae: 19000\n")
    with pytest.raises(ConfigError) as err:
        load_environment("local", environments_dir, environ={})
    message = str(err.value)
    assert str(environments_dir / "local.yaml") in message
    assert "network.port_bsae" in message
    assert "bind_host, port_base" in message
    assert err.value.exit_code == 2


def test_unknown_nested_workload_key_lists_allowed(environments_dir: Path) -> None:
    (environments_dir / "local.yaml").write_text("workloads:\n  mlflow:\n    replicas: 2\n")
    with pytest.raises(ConfigError, match=r"workloads\.mlflow\.replicas.*count"):
        load_environment("local", environments_dir, environ={})


def test_wrong_value_names_the_variable_that_set_it(environments_dir: Path) -> None:
    with pytest.raises(ConfigError, match="OPSCTL_NETWORK__PORT_BASE"):
        load_environment("local", environments_dir, environ={"OPSCTL_NETWORK__PORT_BASE": "80"})


def test_unknown_variable_key_is_an_error(environments_dir: Path) -> None:
    with pytest.raises(ConfigError, match="OPSCTL_NETWRK__PORT_BASE"):
        load_environment("local", environments_dir, environ={"OPSCTL_NETWRK__PORT_BASE": "1"})


def test_invalid_yaml_names_file_and_line(environments_dir: Path) -> None:
    (environments_dir / "local.yaml").write_text("network:\n  port_base: [1\n")
    with pytest.raises(ConfigError, match=r"local\.yaml:.*line \d+.*invalid YAML"):
        load_environment("local", environments_dir, environ={})


def test_unknown_environment_lists_the_existing_ones(environments_dir: Path) -> None:
    with pytest.raises(
        ConfigError, match="unknown environment 'qa'.*local, local-prod, nomad-dev, prod, staging"
    ):
        load_environment("qa", environments_dir, environ={})


def test_secret_values_are_refused_where_a_name_is_expected(environments_dir: Path) -> None:
    (environments_dir / "local.yaml").write_text("auth:\n  api_key_secret: 'Sup3r$ecret!'\n")
    with pytest.raises(ConfigError, match="auth.api_key_secret"):
        load_environment("local", environments_dir, environ={})


def test_cluster_environment_must_require_auth(environments_dir: Path) -> None:
    with pytest.raises(ConfigError, match="auth.required"):
        load_environment("staging", environments_dir, environ={"OPSCTL_AUTH__REQUIRED": "false"})


def test_postgres_database_needs_host_and_user(environments_dir: Path) -> None:
    (environments_dir / "local.yaml").write_text("database:\n  kind: postgresql\n")
    with pytest.raises(ConfigError, match="needs 'host' and 'user'"):
        load_environment("local", environments_dir, environ={})


@pytest.mark.parametrize("name", ["local", "local-prod", "nomad-dev", "staging", "prod"])
def test_where_auth_is_required_the_service_and_the_app_get_the_key(
    environments_dir: Path, name: str
) -> None:
    config = load_environment(name, environments_dir, environ={})
    if not config.auth.required:
        return
    key = f"${{secret.{config.auth.api_key_secret}}}"
    assert config.workloads["serving"].env["SERVING_API_KEY"] == key
    assert config.workloads["streamlit"].env["CRM_SERVING_API_KEY"] == key
