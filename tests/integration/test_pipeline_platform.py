"""The pipeline on generator data through a real local platform (SeaweedFS, MLflow,
Prefect server and worker under supervisord), on its own ports and state directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port_base

pytestmark = pytest.mark.integration


def _opsctl(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops_cli", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture
def platform_env(tmp_path: Path):
    env = {
        **os.environ,
        "OPSCTL_STATE_DIR": str(tmp_path / "state"),
        "OPSCTL_NETWORK__PORT_BASE": str(free_port_base(19000)),
        "OPSCTL_PIPELINE__TRIALS": "3",
        "OPSCTL_PIPELINE__DEFAULT_ROWS": "3000",
    }
    for variable in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI"):
        env.pop(variable, None)
    # no champion exists yet, so `up` also runs the bootstrap pipeline
    up = _opsctl(env, "up", "--env", "local", "--output", "json")
    try:
        assert up.returncode == 0, up.stderr
        assert "No champion model yet" in up.stderr
        yield env
    finally:
        _opsctl(env, "down", "--env", "local", "--purge", "--yes", timeout=300)


def test_pipeline_registers_a_model_and_logs_the_promotion_decision(platform_env) -> None:
    bootstrapped = _opsctl(platform_env, "model", "list", "--env", "local", "--output", "json")
    assert len(json.loads(bootstrapped.stdout)["versions"]) == 1, "up did not train a first model"

    run = _opsctl(
        platform_env, "pipeline", "run", "--env", "local", "--source", "synthetic",
        "--rows", "3000", "--wait", "--output", "json",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout)["state"] == "COMPLETED"

    listed = _opsctl(platform_env, "model", "list", "--env", "local", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    versions = json.loads(listed.stdout)["versions"]
    assert len(versions) == 2, "the pipeline run registered no second version"
    newest = versions[0]
    assert "challenger" in newest["aliases"]
    assert newest["promotion"] in ("promoted", "not promoted")
    assert "eval_roc_auc" in newest["metrics"]

    status = _opsctl(platform_env, "pipeline", "status", "--env", "local", "--output", "json")
    assert status.returncode == 0, status.stderr
    crons = {c for d in json.loads(status.stdout)["deployments"] for c in d["schedules"]}
    assert {"0 2 1 * *", "0 4 1 * *"} <= crons  # monthly processing, then training
