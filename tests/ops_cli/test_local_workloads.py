"""Resolving the catalog for this machine and rendering supervisord's config."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

from ops_cli.config.display import masked_config
from ops_cli.environment import open_environment
from ops_cli.errors import ConfigError
from ops_cli.scheduler.local.supervisor_conf import render_supervisor_conf
from ops_cli.scheduler.local.workload import resolve_local_workloads


@pytest.fixture
def local_env(environments_dir: Path, tmp_path: Path):
    environ = {"OPSCTL_STATE_DIR": str(tmp_path / "state"), "OPSCTL_NETWORK__PORT_BASE": "21000"}
    env = open_environment("local", environments_dir=environments_dir, environ=environ)
    env.secrets.ensure_generated(env.local_secret_names())
    return env


def test_every_port_is_port_base_plus_offset_on_loopback(local_env) -> None:
    workloads = {
        w.name: w
        for w in resolve_local_workloads(
            local_env.config, local_env.catalog, local_env.paths, local_env.secrets
        )
    }
    assert workloads["storage"].ports["s3"] == 21000
    assert workloads["mlflow"].ports["http"] == 21010
    storage_args = " ".join(workloads["storage"].command)
    assert "-ip.bind=127.0.0.1" in storage_args
    assert "-s3.port=21000" in storage_args and "-master.port=21001" in storage_args
    assert workloads["prefect-worker"].env["PREFECT_API_URL"] == "http://127.0.0.1:21020/api"
    assert workloads["mlflow"].probe.url == "http://127.0.0.1:21010/health"


def test_secrets_reach_env_and_files_never_arguments(local_env) -> None:
    secret = local_env.secrets.require("s3-secret-key")
    for workload in resolve_local_workloads(
        local_env.config, local_env.catalog, local_env.paths, local_env.secrets
    ):
        assert all(secret not in arg for arg in workload.command), workload.name
    mlflow = next(
        w
        for w in resolve_local_workloads(
            local_env.config, local_env.catalog, local_env.paths, local_env.secrets
        )
        if w.name == "mlflow"
    )
    assert mlflow.env["AWS_SECRET_ACCESS_KEY"] == secret
    assert mlflow.env["MLFLOW_BACKEND_STORE_URI"].startswith("sqlite:///")


def test_postgres_password_is_filled_into_the_environment_only(environments_dir, tmp_path) -> None:
    (environments_dir / "local.yaml").write_text(
        "database: {kind: postgresql, host: 127.0.0.1, user: ops, password_secret: db-pass}\n"
    )
    environ = {"OPSCTL_STATE_DIR": str(tmp_path / "s"), "OPSCTL_SECRET_DB_PASS": "p@ss"}
    env = open_environment("local", environments_dir=environments_dir, environ=environ)
    env.secrets.ensure_generated(env.local_secret_names())
    mlflow = next(
        w
        for w in resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
        if w.name == "mlflow"
    )
    assert mlflow.env["MLFLOW_BACKEND_STORE_URI"] == (
        "postgresql://ops:p@ss@127.0.0.1:5432/mlflow?sslmode=prefer"
    )
    assert all("p@ss" not in arg for arg in mlflow.command)


def test_missing_secret_is_a_config_error(environments_dir, tmp_path) -> None:
    env = open_environment(
        "local", environments_dir=environments_dir, environ={"OPSCTL_STATE_DIR": str(tmp_path)}
    )
    with pytest.raises(ConfigError, match="secret 's3-access-key' is not set"):
        resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)


def test_unknown_port_override_lists_the_ports(environments_dir, tmp_path) -> None:
    (environments_dir / "local.yaml").write_text("workloads:\n  mlflow:\n    ports: {web: 1}\n")
    env = open_environment(
        "local", environments_dir=environments_dir, environ={"OPSCTL_STATE_DIR": str(tmp_path)}
    )
    env.secrets.ensure_generated(env.local_secret_names())
    with pytest.raises(ConfigError, match=r"workloads.mlflow.ports: unknown port \['web'\]"):
        resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)


def test_supervisor_config_round_trips_commands_and_environment(local_env, tmp_path) -> None:
    workloads = resolve_local_workloads(
        local_env.config, local_env.catalog, local_env.paths, local_env.secrets
    )
    text = render_supervisor_conf(
        workloads, socket_path=tmp_path / "s.sock", pid_file=tmp_path / "p", log_dir=tmp_path
    )
    parser = configparser.RawConfigParser()
    parser.read_string(text.replace("%%", "%"))
    for workload in workloads:
        section = parser[f"program:{workload.name}"]
        assert shlex.split(section["command"]) == list(workload.command)
        assert section["autostart"] == "false"
        assert section["autorestart"] == "true"
        assert section["stopasgroup"] == "true"


def test_percent_signs_are_escaped_for_supervisord(local_env, tmp_path) -> None:
    workloads = resolve_local_workloads(
        local_env.config, local_env.catalog, local_env.paths, local_env.secrets
    )
    weird = workloads[0].__class__(**{**workloads[0].__dict__, "env": {"X": '50% "q"'}})
    text = render_supervisor_conf(
        [weird], socket_path=tmp_path / "s.sock", pid_file=tmp_path / "p", log_dir=tmp_path
    )
    assert 'X="50%% \\"q\\""' in text


def test_config_display_masks_secrets(environments_dir, tmp_path) -> None:
    (environments_dir / "local.yaml").write_text(
        "workloads:\n  mlflow:\n    env: {MY_TOKEN: abc, PLAIN: 'https://u:pw@host/x'}\n"
    )
    env = open_environment(
        "local", environments_dir=environments_dir, environ={"OPSCTL_STATE_DIR": str(tmp_path)}
    )
    shown = masked_config(env.config, lambda name: name == "s3-access-key")
    assert shown["storage"]["access_key_secret"] == "secret:s3-access-key (set)"
    assert shown["storage"]["secret_key_secret"] == "secret:s3-secret-key (not set)"
    assert shown["workloads"]["mlflow"]["env"] == {
        "MY_TOKEN": "***",
        "PLAIN": "https://u:***@host/x",
    }


def test_dependents_stop_before_what_they_depend_on(local_env, tmp_path) -> None:
    workloads = resolve_local_workloads(
        local_env.config, local_env.catalog, local_env.paths, local_env.secrets
    )
    text = render_supervisor_conf(
        workloads, socket_path=tmp_path / "s.sock", pid_file=tmp_path / "p", log_dir=tmp_path
    )
    parser = configparser.RawConfigParser()
    parser.read_string(text.replace("%%", "%"))
    priority = {w.name: int(parser[f"program:{w.name}"]["priority"]) for w in workloads}
    # supervisord starts low priorities first and stops them last
    assert priority["serving"] > priority["storage"]
    assert priority["serving"] > priority["mlflow"]
    assert priority["storage"] == priority["prefect-server"]


def test_interpreter_is_this_python_under_one_stable_name() -> None:
    import os
    import sys

    from ops_cli.scheduler.local.workload import interpreter

    assert os.path.realpath(interpreter()) == os.path.realpath(sys.executable)
    assert interpreter().startswith(sys.prefix)  # the venv's own spelling, not the base one
