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
        "OPSCTL_PROCESS_OWNER": "/state/local/data/streamlit#42",  # inherited by the app's opsctl
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


def test_an_aws_environment_name_too_long_for_aws_names_is_refused_at_load(
    environments_dir: Path,
) -> None:
    staging = (environments_dir / "staging.yaml").read_text()
    fits, too_long = "staging-eu-west-1ab", "staging-eu-west-1abcd"  # 19 and 21 characters
    for name in (fits, too_long):
        (environments_dir / f"{name}.yaml").write_text(staging)

    assert load_environment(fits, environments_dir, environ={}).name == fits
    with pytest.raises(ConfigError) as caught:
        load_environment(too_long, environments_dir, environ={})

    message = str(caught.value)
    assert f"{too_long}.yaml: name: environment '{too_long}'" in message
    assert f"control load balancer 'crm-{too_long}-control' would have 33 characters" in message
    assert "AWS allows 32" in message and "at most 20 characters" in message
    assert caught.value.exit_code == 2


def test_an_aws_environment_name_must_make_a_valid_rds_identifier(
    environments_dir: Path,
) -> None:
    (environments_dir / "qa--eu.yaml").write_text((environments_dir / "staging.yaml").read_text())
    with pytest.raises(ConfigError, match="RDS instance identifier 'crm-qa--eu' may not end"):
        load_environment("qa--eu", environments_dir, environ={})


def test_a_long_name_without_aws_is_not_limited_by_aws(environments_dir: Path) -> None:
    name = "local-with-a-rather-long-name-for-a-laptop"
    (environments_dir / f"{name}.yaml").write_text((environments_dir / "local.yaml").read_text())
    assert load_environment(name, environments_dir, environ={}).aws is None


def test_without_an_environments_folder_the_message_names_what_works(
    tmp_path_factory: pytest.TempPathFactory,
    environments_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ops_cli.config import loader

    elsewhere = tmp_path_factory.mktemp("elsewhere")  # no environments/ in it or above
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("OPSCTL_ENVIRONMENTS_DIR", raising=False)
    monkeypatch.setattr(loader, "INSTALL_ENVIRONMENTS", elsewhere / "not-installed")
    with pytest.raises(ConfigError) as caught:
        loader.find_environments_dir()
    advice = f"{caught.value} {caught.value.hint}"
    assert "OPSCTL_ENVIRONMENTS_DIR" in advice and str(elsewhere) in advice
    assert "--environments-dir" not in advice  # no such option exists
    # the advice works
    monkeypatch.setenv("OPSCTL_ENVIRONMENTS_DIR", str(environments_dir))
    assert loader.find_environments_dir() == environments_dir
    assert load_environment("local").name == "local"


def test_a_variable_naming_a_folder_without_base_yaml_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ops_cli.config import loader

    monkeypatch.setenv("OPSCTL_ENVIRONMENTS_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=f"OPSCTL_ENVIRONMENTS_DIR {tmp_path}: no base.yaml"):
        loader.find_environments_dir()


def test_variables_keep_a_text_fields_value_exactly_as_typed(environments_dir: Path) -> None:
    typed = {
        "OPSCTL_STORAGE__REGION": "no",  # YAML would make it False
        "OPSCTL_DESCRIPTION": "'quoted' # not a comment: 0123",
        "OPSCTL_REGISTRY__MODEL_NAME": "0123",  # YAML would make it 123
        "OPSCTL_STORAGE__ENDPOINT_URL": '"http://127.0.0.1:1"',
        "OPSCTL_REGISTRY__CHAMPION_ALIAS": "on",  # YAML would make it True
        "OPSCTL_REGISTRY__CHALLENGER_ALIAS": "a: b",  # YAML would make it a mapping
        "OPSCTL_NETWORK__BIND_HOST": "null",
    }
    config = load_environment("local", environments_dir, environ=typed)
    assert config.storage.region == "no"
    assert config.description == "'quoted' # not a comment: 0123"
    assert config.registry.model_name == "0123"
    assert config.storage.endpoint_url == '"http://127.0.0.1:1"'
    assert config.registry.champion_alias == "on"
    assert config.registry.challenger_alias == "a: b"
    assert config.network.bind_host == "null"


@pytest.mark.parametrize("value", ["", "  ", "state", "./state"])
def test_an_empty_or_relative_state_dir_is_refused(environments_dir: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="OPSCTL_STATE_DIR: state_dir: ") as err:
        load_environment("local", environments_dir, environ={"OPSCTL_STATE_DIR": value})
    assert err.value.exit_code == 2
