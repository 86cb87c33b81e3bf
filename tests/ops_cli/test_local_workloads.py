"""Resolving the catalog for this machine and rendering supervisord's config."""

from __future__ import annotations

import configparser
import shlex
import sys
from pathlib import Path

import pytest

from ops_cli.config.display import masked_config
from ops_cli.environment import open_environment
from ops_cli.errors import ConfigError
from ops_cli.scheduler.local.supervisor_conf import render_supervisor_conf
from ops_cli.scheduler.local.workload import resolve_local_workloads
from ops_cli.scheduler.shared import SYSTEM_PATH


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
        "postgresql+psycopg2://ops:p@ss@127.0.0.1:5432/mlflow?sslmode=prefer"
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
        workloads,
        socket_path=tmp_path / "s.sock",
        pid_file=tmp_path / "p",
        log_dir=tmp_path,
        data_dir=tmp_path / "data",
    )
    parser = configparser.RawConfigParser()
    parser.read_string(text.replace("%%", "%"))
    for workload in workloads:
        section = parser[f"program:{workload.name}"]
        launched = shlex.split(section["command"])
        assert launched[launched.index("--") + 1 :] == list(workload.command)
        assert str(workload.env_file) in launched
        assert "environment" not in section  # each process's environment is in its file
        assert section["autostart"] == "false"
        assert section["autorestart"] == "true"
        assert section["stopasgroup"] == "true"


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
        workloads,
        socket_path=tmp_path / "s.sock",
        pid_file=tmp_path / "p",
        log_dir=tmp_path,
        data_dir=tmp_path / "data",
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


def test_a_process_gets_what_it_declares_and_the_allow_list_only(
    local_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = {
        "OPSCTL_SECRET_S3_SECRET_KEY": "operator-secret",
        "OPSCTL_SECRET_SERVING_API_KEY": "operator-key",
        "NOMAD_TOKEN": "nomad-token",
        "AWS_SECRET_ACCESS_KEY": "operator-aws",
        "AWS_SESSION_TOKEN": "operator-session",
        "OPSCTL_NETWORK__PORT_BASE": "21000",
        "KAGGLE_USERNAME": "kaggler",
        "KAGGLE_KEY": "kaggle-key",
        "HOME": "/home/operator",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "Europe/Paris",
    }
    for key, value in operator.items():
        monkeypatch.setenv(key, value)
    workloads = {
        w.name: w
        for w in resolve_local_workloads(
            local_env.config, local_env.catalog, local_env.paths, local_env.secrets
        )
    }
    generated = local_env.secrets.require("s3-secret-key")
    for name, workload in workloads.items():
        env = workload.env
        leaked = {"NOMAD_TOKEN", "AWS_SESSION_TOKEN"} | {
            k for k in env if k.startswith("OPSCTL_SECRET_")
        }
        assert leaked & set(env) == set(), name
        assert "operator-aws" not in env.values() and "operator-secret" not in env.values()
        assert {k: env[k] for k in ("HOME", "LANG", "LC_ALL", "TZ")} == {
            k: operator[k] for k in ("HOME", "LANG", "LC_ALL", "TZ")
        }, name
        if "AWS_SECRET_ACCESS_KEY" in env:
            assert env["AWS_SECRET_ACCESS_KEY"] == generated, name
    assert workloads["prefect-worker"].env["KAGGLE_USERNAME"] == "kaggler"
    assert workloads["prefect-worker"].env["KAGGLE_KEY"] == "kaggle-key"
    assert "KAGGLE_KEY" not in workloads["evidently-ui"].env
    # the app's `opsctl status` reads the same settings as the `up` that started it
    assert workloads["streamlit"].env["OPSCTL_NETWORK__PORT_BASE"] == "21000"
    assert "OPSCTL_NETWORK__PORT_BASE" not in workloads["evidently-ui"].env


def test_the_worker_gets_every_variable_kagglehub_reads(local_env) -> None:
    import re

    from ml.data.kaggle_credentials import KAGGLE_CREDENTIALS

    read = {
        part for rule in KAGGLE_CREDENTIALS for part in rule if re.fullmatch(r"KAGGLE_\w+", part)
    }
    assert read, "the rules name no variable"
    assert read <= set(local_env.catalog["prefect-worker"].pass_env)


def test_a_missing_prometheus_leaves_only_the_metrics_and_alerts_workloads_out(
    environments_dir, tmp_path, monkeypatch
) -> None:
    from ops_cli.scheduler import shared
    from ops_cli.scheduler.local.workload import missing_tools

    # a machine without Debian's prometheus packages: only the venv's scripts remain
    monkeypatch.setattr(shared, "SYSTEM_PATH", (str(tmp_path / "empty"),))
    env = open_environment(
        "local", environments_dir=environments_dir, environ={"OPSCTL_STATE_DIR": str(tmp_path)}
    )
    env.secrets.ensure_generated(env.local_secret_names())
    missing = missing_tools(env.config, env.catalog)
    assert set(missing) == {"metrics", "alerts"}
    assert "'prometheus' is not installed: apt-get install prometheus" in missing["metrics"]
    assert "apt-get install prometheus-alertmanager" in missing["alerts"]
    names = [
        w.name for w in resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
    ]
    assert not {"metrics", "alerts"} & set(names) and {"serving", "mlflow", "storage"} <= set(names)


def test_an_optional_secret_is_empty_when_unset_and_its_value_when_set(
    environments_dir, tmp_path
) -> None:
    environ = {"OPSCTL_STATE_DIR": str(tmp_path / "s")}
    env = open_environment("local", environments_dir=environments_dir, environ=environ)
    env.secrets.ensure_generated(env.local_secret_names())
    unset = {
        w.name: w for w in resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
    }
    assert {p.name: c for p, c, _ in unset["alerts"].files}["webhook-url"] == ""

    environ["OPSCTL_SECRET_ALERT_WEBHOOK_URL"] = "http://127.0.0.1:9/hook"
    env = open_environment("local", environments_dir=environments_dir, environ=environ)
    workloads = resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
    alerts = next(w for w in workloads if w.name == "alerts")
    assert {p.name: c for p, c, _ in alerts.files}["webhook-url"] == "http://127.0.0.1:9/hook"


def test_the_optional_secret_follows_monitoring_webhook_url_secret(
    environments_dir, tmp_path
) -> None:
    (environments_dir / "local.yaml").write_text("monitoring: {webhook_url_secret: team-hook}\n")
    environ = {"OPSCTL_STATE_DIR": str(tmp_path / "s"), "OPSCTL_SECRET_TEAM_HOOK": "http://h/x"}
    env = open_environment("local", environments_dir=environments_dir, environ=environ)
    env.secrets.ensure_generated(env.local_secret_names())
    workloads = resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
    alerts = next(w for w in workloads if w.name == "alerts")
    assert {p.name: c for p, c, _ in alerts.files}["webhook-url"] == "http://h/x"


def test_status_says_when_alerts_are_sent_nowhere(environments_dir, tmp_path) -> None:
    from ops_cli.operations import alert_delivery_note

    environ = {"OPSCTL_STATE_DIR": str(tmp_path / "s")}
    env = open_environment("local", environments_dir=environments_dir, environ=environ)
    note = alert_delivery_note(env)
    assert note and "alerts are sent nowhere" in note
    assert "OPSCTL_SECRET_ALERT_WEBHOOK_URL" in note and "Prometheus and Alertmanager" in note
    environ["OPSCTL_SECRET_ALERT_WEBHOOK_URL"] = "http://127.0.0.1:9/hook"
    env = open_environment("local", environments_dir=environments_dir, environ=environ)
    assert alert_delivery_note(env) is None


def test_the_service_runs_a_worker_per_core_the_environment_reserves(
    environments_dir, tmp_path
) -> None:
    def serving_env(local_yaml: str) -> dict[str, str]:
        (environments_dir / "local.yaml").write_text(local_yaml)
        env = open_environment(
            "local", environments_dir=environments_dir,
            environ={"OPSCTL_STATE_DIR": str(tmp_path / "s")},
        )  # fmt: skip
        env.secrets.ensure_generated(env.local_secret_names())
        workloads = resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
        return next(w for w in workloads if w.name == "serving").env

    reserved = serving_env("workloads: {serving: {resources: {cores: 3, memory_mb: 2048}}}\n")
    assert reserved["SERVING_WORKERS"] == "3"
    assert reserved["SERVING_METRICS_DIR"].startswith(str(tmp_path / "s"))
    # a CPU share: no count, and the service takes the cores it may run on
    shared = serving_env(
        "workloads: {serving: {resources: {cpu_mhz: 500, cores: null, memory_mb: 1024}}}\n"
    )
    assert "SERVING_WORKERS" not in shared


@pytest.mark.parametrize("resources", ["{cores: null}", "{cpu_mhz: 500}"])
def test_resources_take_either_a_cpu_share_or_cores(environments_dir, tmp_path, resources) -> None:
    (environments_dir / "local.yaml").write_text(
        f"workloads: {{serving: {{resources: {resources}}}}}\n"
    )
    with pytest.raises(ConfigError, match="cpu_mhz or cores"):
        open_environment("local", environments_dir=environments_dir,
                         environ={"OPSCTL_STATE_DIR": str(tmp_path / "s")})  # fmt: skip


def test_the_operators_path_changes_no_program(local_env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second `up` from a shell with another PATH must find every program unchanged:
    supervisord restarts a program whose definition changed."""

    def programs() -> dict[str, tuple]:
        resolved = resolve_local_workloads(
            local_env.config, local_env.catalog, local_env.paths, local_env.secrets
        )
        return {w.name: (tuple(w.command), tuple(sorted(w.env.items()))) for w in resolved}

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    first = programs()
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:/opt/tools/bin:/usr/bin:/bin")
    assert programs() == first
    assert all(dict(env)["PATH"].split(":")[1:] == list(SYSTEM_PATH) for _, env in first.values())
