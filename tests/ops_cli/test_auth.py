"""Authentication fails closed: every environment requires the prediction service's
API key, the key reaches the service and its clients, and a missing or empty key
stops `config show`, `plan` and `up` (exit 2) before anything is applied."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops_cli.catalog import load_catalog
from ops_cli.config.loader import load_environment
from ops_cli.environment import Environment, open_environment
from ops_cli.errors import ConfigError
from ops_cli.scheduler.local.workload import resolve_local_workloads
from ops_cli.scheduler.nomad.render import render_job
from tests.conftest import run_opsctl

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("local", "local-prod", "nomad-dev", "staging", "prod")
CLUSTER_APPLIED = {
    "OPSCTL_IMAGE__DIGEST": "sha256:" + "a" * 64,
    "OPSCTL_DATABASE__HOST": "db.internal",
    "OPSCTL_DATABASE__PASSWORD_SECRET_ARN": (
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1"
    ),
}
"""What a cluster deploy knows once the infrastructure is applied and a release pinned."""


def local(environments_dir: Path, tmp_path: Path, **environ: str) -> Environment:
    environ = {"OPSCTL_STATE_DIR": str(tmp_path / "state"), **environ}
    return open_environment("local", environments_dir=environments_dir, environ=environ)


def opsctl(*args: str, environments_dir: Path, tmp_path: Path, **extra: str):
    # no cloud is reached: the key is checked before credentials are looked for
    no_cloud = {"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    return run_opsctl(*args, home=tmp_path, environments=environments_dir,
                      env={**no_cloud, **extra}, cwd=REPO)  # fmt: skip


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_environment_requires_the_api_key(environments_dir, name) -> None:
    assert load_environment(name, environments_dir, environ={}).auth.required


def test_locally_the_key_reaches_the_service_the_app_and_the_flows(
    environments_dir, tmp_path
) -> None:
    env = local(environments_dir, tmp_path)
    env.secrets.ensure_generated(env.local_secret_names())
    key = env.secrets.require("serving-api-key")
    assert len(key) >= 32
    workloads = {
        w.name: w for w in resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
    }
    assert workloads["serving"].env["SERVING_API_KEY"] == key
    assert workloads["serving"].env["SERVING_AUTH_REQUIRED"] == "true"
    assert workloads["streamlit"].env["CRM_SERVING_API_KEY"] == key
    assert workloads["prefect-worker"].env["CRM_SERVING_API_KEY"] == key
    assert all(key not in " ".join(w.command) for w in workloads.values())


def test_turned_off_locally_the_service_is_told_so_and_gets_no_key(
    environments_dir, tmp_path
) -> None:
    env = local(environments_dir, tmp_path, OPSCTL_AUTH__REQUIRED="false")
    env.secrets.ensure_generated(env.local_secret_names())
    assert "serving-api-key" not in env.local_secret_names()
    workloads = {
        w.name: w for w in resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
    }
    assert workloads["serving"].env["SERVING_AUTH_REQUIRED"] == "false"
    assert "SERVING_API_KEY" not in workloads["serving"].env
    assert "CRM_SERVING_API_KEY" not in workloads["streamlit"].env


@pytest.mark.parametrize("name", ["staging", "prod", "nomad-dev"])
def test_on_the_cluster_the_key_comes_from_nomad_variables_never_the_job(
    environments_dir, name
) -> None:
    config = load_environment(name, environments_dir, environ=CLUSTER_APPLIED)
    catalog = load_catalog()
    serving = json.dumps(render_job(config, catalog, "serving"))
    expected = 'SERVING_API_KEY={{ with nomadVar \\"nomad/jobs/serving\\" }}{{ .serving_api_key }}'
    assert expected in serving
    assert '"SERVING_AUTH_REQUIRED": "true"' in serving
    for client in ("streamlit", "prefect-worker"):
        rendered = json.dumps(render_job(config, catalog, client))
        assert f'CRM_SERVING_API_KEY={{{{ with nomadVar \\"nomad/jobs/{client}\\" }}}}' in rendered


def test_a_local_key_not_generated_yet_is_no_error_an_empty_one_is(
    environments_dir, tmp_path
) -> None:
    env = local(environments_dir, tmp_path)
    env.require_api_key()  # `up` generates it
    env.paths.create()
    env.secrets.file.write_text(json.dumps({"serving-api-key": "  "}))
    with pytest.raises(ConfigError, match=r"environment 'local'.*'serving-api-key', is empty"):
        env.require_api_key()
    generated = env.secrets.ensure_generated(env.local_secret_names())
    assert {"s3-access-key", "s3-secret-key"} <= set(generated)
    assert "serving-api-key" not in generated  # an empty key is refused, never silently replaced


def test_a_cluster_needs_the_key_in_the_secret_store(environments_dir, tmp_path) -> None:
    for environ, state in (({}, "not set"), ({"OPSCTL_SECRET_SERVING_API_KEY": " "}, "empty")):
        env = open_environment(
            "staging",
            environments_dir=environments_dir,
            environ={"OPSCTL_STATE_DIR": str(tmp_path), **environ},
        )
        with pytest.raises(ConfigError, match=f"'staging'.*'serving-api-key', is {state}"):
            env.require_api_key()
    env = open_environment(
        "staging",
        environments_dir=environments_dir,
        environ={"OPSCTL_STATE_DIR": str(tmp_path), "OPSCTL_SECRET_SERVING_API_KEY": "k" * 32},
    )
    env.require_api_key()


@pytest.mark.parametrize(
    "command",
    [("config", "show"), ("plan",), ("up", "--yes")],
    ids=["config-show", "plan", "up"],
)
def test_without_the_key_config_show_plan_and_up_exit_2(
    environments_dir, tmp_path, command
) -> None:
    result = opsctl(*command, "--env", "staging", environments_dir=environments_dir,
                    tmp_path=tmp_path)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "'staging'" in result.stderr and "serving-api-key" in result.stderr
    assert "OPSCTL_SECRET_SERVING_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state" / "staging" / "infra").exists()  # nothing applied


def test_an_empty_local_key_stops_up_before_any_service_starts(environments_dir, tmp_path) -> None:
    env = local(environments_dir, tmp_path)
    env.paths.create()
    env.secrets.file.write_text(json.dumps({"serving-api-key": ""}))
    result = opsctl("up", "--env", "local", environments_dir=environments_dir,
                    tmp_path=tmp_path, OPSCTL_NETWORK__PORT_BASE="33900")  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "'local'" in result.stderr and "'serving-api-key', is empty" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "state").glob("**/supervisord.conf"))


def test_the_operator_reads_the_local_key_with_opsctl(environments_dir, tmp_path) -> None:
    env = local(environments_dir, tmp_path)
    before = opsctl("config", "api-key", environments_dir=environments_dir, tmp_path=tmp_path)
    assert before.returncode == 2 and "generated by the first `opsctl up" in before.stderr
    env.secrets.ensure_generated(env.local_secret_names())
    result = opsctl("config", "api-key", environments_dir=environments_dir, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == env.secrets.require("serving-api-key")
    assert oct(env.secrets.file.stat().st_mode & 0o777) == "0o600"
