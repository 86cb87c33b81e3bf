"""The prediction service on a real local platform: not ready without a champion,
serves the champion once the pipeline registers one, and writes its prediction
log to the platform's S3 bucket when it stops (SeaweedFS, MLflow, Prefect under
supervisord, on a private port block and state directory)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml

from ml.data.synthetic import GeneratorConfig, generate
from tests.conftest import REPO, free_port_base

pytestmark = pytest.mark.integration


def _opsctl(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops_cli", *args, "--env", "local"],
        env=env, capture_output=True, text=True, timeout=timeout, check=False, cwd=REPO,
    )  # fmt: skip


@pytest.fixture
def platform(tmp_path: Path, environments_dir: Path):
    """An up local platform whose serving checks the alias every 2 s."""
    base_file = environments_dir / "base.yaml"
    base = yaml.safe_load(base_file.read_text())
    base["workloads"]["serving"]["env"] = {"SERVING_REFRESH_S": "2", "SERVING_LOG_FLUSH_S": "3600"}
    base_file.write_text(yaml.safe_dump(base))
    port_base = free_port_base(start=24000)
    env = {
        **os.environ,
        "OPSCTL_ENVIRONMENTS_DIR": str(environments_dir),
        "OPSCTL_STATE_DIR": str(tmp_path / "state"),
        "OPSCTL_NETWORK__PORT_BASE": str(port_base),
        "OPSCTL_PIPELINE__TRIALS": "3",
    }
    for variable in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI"):
        env.pop(variable, None)
    up = _opsctl(env, "up", "--output", "json")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield env, port_base, tmp_path / "state"
    finally:
        _opsctl(env, "down", "--purge", "--yes", timeout=300)


def _wait(url: str, timeout: float = 120) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200 or time.monotonic() > deadline:
                return response
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
        time.sleep(1)


def _champion(env: dict[str, str], tracking_uri: str) -> str:
    """The champion's version; the newest version becomes champion if the gate said no."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri)
    try:
        return str(client.get_model_version_by_alias("crm-win-probability", "champion").version)
    except MlflowException:
        newest = max(int(v.version) for v in client.search_model_versions())
        client.set_registered_model_alias("crm-win-probability", "champion", str(newest))
        return str(newest)


def _logged_rows(state: Path, port_base: int) -> pd.DataFrame:
    import boto3

    secrets = json.loads((state / "secrets.json").read_text())
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port_base}",
        aws_access_key_id=secrets["s3-access-key"],
        aws_secret_access_key=secrets["s3-secret-key"],
        region_name="us-east-1",
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="prediction-logs").get("Contents", [])]
    frames = [pd.read_parquet(io.BytesIO(s3.get_object(Bucket="prediction-logs", Key=k)["Body"].read()))
              for k in keys if k.endswith(".parquet")]  # fmt: skip
    assert all(k.startswith("date=") and "/hour=" in k for k in keys), keys
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def test_serving_follows_the_champion_and_logs_to_s3(platform) -> None:
    env, port_base, state = platform
    serving = f"http://127.0.0.1:{port_base + 30}"
    assert httpx.get(f"{serving}/health").status_code == 200

    run = _opsctl(env, "pipeline", "run", "--source", "synthetic", "--rows", "3000", "--wait",
                  "--output", "json")  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    version = _champion(env, f"http://127.0.0.1:{port_base + 10}")
    assert _wait(f"{serving}/ready").status_code == 200
    assert httpx.get(f"{serving}/version").json()["model_version"] == version

    teams = generate(GeneratorConfig(rows=3000, seed=42))["sales_teams"]
    rows = [
        {"opportunity_id": f"IT{i:04d}", "sales_agent": agent, "product": "GTX Pro",
         "account": None, "deal_stage": "Engaging", "engage_date": "2017-11-02",
         "as_of_date": "2017-11-30"}
        for i, agent in enumerate(teams["sales_agent"].head(5))
    ]  # fmt: skip
    response = httpx.post(f"{serving}/predict", json={"opportunities": rows}, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["version"] == version and len(body["predictions"]) == 5
    bad = httpx.post(f"{serving}/predict", json={"opportunities": [{**rows[0], "product": "X"}]})
    assert bad.status_code == 422

    restart = _opsctl(env, "restart", "serving")  # a graceful stop writes the buffered log
    assert restart.returncode == 0, restart.stdout + restart.stderr
    logged = _logged_rows(state, port_base)
    mine = logged[logged["request_id"].eq(body["request_id"])]
    assert sorted(mine["opportunity_id"]) == [r["opportunity_id"] for r in rows]
    assert set(mine["model_version"]) == {version}
