"""The command line's contract: exit codes, JSON output, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_opsctl

REPO = Path(__file__).resolve().parents[2]


def opsctl(*args: str, env_dir: Path, state: Path, extra_env: dict | None = None):
    return run_opsctl(*args, home=state, environments=env_dir, state=state / "env", env=extra_env)


def test_unknown_environment_exits_2_listing_environments(environments_dir, tmp_path) -> None:
    result = opsctl("status", "--env", "qa", env_dir=environments_dir, state=tmp_path)
    assert result.returncode == 2
    assert "unknown environment 'qa'" in result.stderr
    assert "local, local-prod, nomad-dev, prod, staging" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_yaml_exits_2_naming_the_file(environments_dir, tmp_path) -> None:
    (environments_dir / "local.yaml").write_text("scheduler: [\n")
    result = opsctl("config", "show", env_dir=environments_dir, state=tmp_path)
    assert result.returncode == 2
    assert "local.yaml" in result.stderr and "invalid YAML" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_error_exits_2(environments_dir, tmp_path) -> None:
    result = opsctl("status", "--output", "xml", env_dir=environments_dir, state=tmp_path)
    assert result.returncode == 2
    assert "--output" in result.stderr


def test_status_json_lists_every_service_with_endpoint(environments_dir, tmp_path) -> None:
    result = opsctl("status", "-o", "json", env_dir=environments_dir, state=tmp_path)
    assert result.returncode == 1  # nothing runs yet: not healthy
    services = {s["name"]: s for s in json.loads(result.stdout)["services"]}
    assert {"storage", "mlflow", "prefect-server", "prefect-worker"} <= set(services)
    assert services["mlflow"]["health"] == "stopped"
    assert services["mlflow"]["endpoints"][0]["url"] == "http://127.0.0.1:18010/"


def test_json_error_document_for_scripts(environments_dir, tmp_path) -> None:
    result = opsctl("status", "--env", "qa", "-o", "json", env_dir=environments_dir, state=tmp_path)
    assert result.returncode == 2
    assert json.loads(result.stdout) == {
        "error": result.stderr.removeprefix("Error: ").strip(),
        "exit_code": 2,
    }


def test_config_show_never_prints_a_secret_value(environments_dir, tmp_path) -> None:
    secret = "s3cr3t-value-that-must-not-show"
    result = opsctl(
        "config",
        "show",
        "-o",
        "json",
        env_dir=environments_dir,
        state=tmp_path,
        extra_env={"OPSCTL_SECRET_S3_SECRET_KEY": secret},
    )
    assert result.returncode == 0
    assert secret not in result.stdout
    assert json.loads(result.stdout)["storage"]["secret_key_secret"] == "secret:s3-secret-key (set)"


def test_logs_of_unknown_workload_names_the_catalog(environments_dir, tmp_path) -> None:
    result = opsctl("logs", "mlfow", env_dir=environments_dir, state=tmp_path)
    assert result.returncode == 2
    assert "unknown workload 'mlfow'" in result.stderr and "mlflow" in result.stderr


@pytest.mark.parametrize("command", [["down"], ["down", "--purge", "--yes"]])
def test_down_when_nothing_exists_is_a_quiet_success(environments_dir, tmp_path, command) -> None:
    result = opsctl(*command, "-o", "json", env_dir=environments_dir, state=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout)["stopped"] == []


def _down_purge(environments_dir, tmp_path, answer: str, *args: str):
    folder = tmp_path / "env" / "local"  # an environment's folder, as opsctl made it
    folder.mkdir(parents=True)
    (folder / ".opsctl-state").write_text('{"environment": "local"}')
    (folder / "keep.txt").write_text("data")
    result = subprocess.run(
        [sys.executable, "-m", "ops_cli", "down", "--purge", *args],
        input=answer,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "OPSCTL_ENVIRONMENTS_DIR": str(environments_dir),
            "OPSCTL_STATE_DIR": str(tmp_path / "env"),
        },
    )
    return result, folder


def test_down_purge_without_yes_asks_on_stderr_and_a_no_deletes_nothing(
    environments_dir, tmp_path
) -> None:
    result, folder = _down_purge(environments_dir, tmp_path, "n\n")
    assert result.returncode == 1
    assert "Delete ALL data of environment 'local'" in result.stderr
    assert "Delete ALL" not in result.stdout
    assert (folder / "keep.txt").read_text() == "data"


def test_a_question_leaves_the_json_document_alone_on_stdout(environments_dir, tmp_path) -> None:
    result, folder = _down_purge(environments_dir, tmp_path, "y\n", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert "Delete ALL data of environment 'local'" in result.stderr
    assert json.loads(result.stdout)["purged"] is True
    assert result.stdout.startswith("{"), "not even the prompt's space reaches stdout"
    assert not folder.exists()


@pytest.mark.parametrize(
    ("command", "module"),
    [
        (["model", "list", "--env", "staging"], "consul"),
        (["status", "--env", "nomad-dev"], "nomad"),
    ],
)
def test_a_missing_extra_is_named_with_how_to_install_it(
    tmp_path: Path, command: list[str], module: str
) -> None:
    # opsctl as the README's quick start installs it: without the cluster extra
    program = (
        "import sys\n"
        "sys.modules['nomad'] = sys.modules['consul'] = None\n"
        "from ops_cli.cli.app import main\n"
        "main(sys.argv[1:])\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OPSCTL_STATE_DIR": str(tmp_path / "s")}
    result = subprocess.run(
        [sys.executable, "-c", program, *command], capture_output=True, text=True, env=env,
        timeout=60, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "needs the 'cluster' extra" in result.stderr and f"'{module}'" in result.stderr
    assert "pip install -e '.[cluster]'" in result.stderr
