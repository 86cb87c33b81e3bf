"""The prediction service on a real local platform: after the generated-data bootstrap,
a run on the user's own files (other agents, no signal) leaves a champion the service
follows and that scores those files' open deals, with its lineage in ``/version``
and the app's choices; the service writes its prediction log to the platform's S3
bucket when it stops (SeaweedFS, MLflow, Prefect under
supervisord, on a private port block and state directory)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

from ops_cli.service_auth import ServiceCredentials, mlflow_signed_in
from tests.conftest import REPO, free_port_base
from tests.integration.conftest import crm_folder, mlflow_auth, open_deals
from tests.integration.diagnostics import PLATFORMS_UP
from workloads.app.choices import model_choices

pytestmark = pytest.mark.integration


def _opsctl(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops_cli", *args, "--env", "local"],
        env=env, capture_output=True, text=True, timeout=timeout, check=False, cwd=REPO,
    )  # fmt: skip


class _Webhook(BaseHTTPRequestHandler):
    """A loopback stand-in for the team's chat webhook: keeps each JSON body posted."""

    received: list[dict]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """The URL of a loopback webhook receiver and the bodies it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/alerts", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()


# An operator's extra rule (the metrics workload loads rules.d/*.yml from its folder, on
# start and on SIGHUP): ServiceDown's expression without its minute of grace, so delivery
# is seen within the test
SERVING_DOWN_NOW = """groups:
  - name: delivery-check
    rules:
      - alert: ServingDownNow
        expr: up{job="serving"} == 0
        labels: {severity: critical}
        annotations: {summary: "serving at {{ $labels.instance }} is down"}
"""


@pytest.fixture
def platform(tmp_path: Path, environments_dir: Path, webhook: tuple[str, list[dict]]):
    """An up local platform whose serving checks the alias every 2 s, its alerts sent
    to the loopback ``webhook``."""
    base_file = environments_dir / "base.yaml"
    base = yaml.safe_load(base_file.read_text())
    base["workloads"]["serving"]["env"] = {"SERVING_REFRESH_S": "2", "SERVING_LOG_FLUSH_S": "3600"}
    base_file.write_text(yaml.safe_dump(base))
    port_base = free_port_base(start=int(os.environ.get("OPSCTL_TEST_PORT_START", "24000")))
    env = {
        **os.environ,
        "OPSCTL_ENVIRONMENTS_DIR": str(environments_dir),
        "OPSCTL_STATE_DIR": str(tmp_path / "state"),
        "OPSCTL_NETWORK__PORT_BASE": str(port_base),
        "OPSCTL_PIPELINE__TRIALS": "3",
        "OPSCTL_SECRET_ALERT_WEBHOOK_URL": webhook[0],
    }
    for variable in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI"):
        env.pop(variable, None)
    PLATFORMS_UP.add(tmp_path / "state")
    up = _opsctl(env, "up", "--output", "json")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield env, port_base, tmp_path / "state" / "local"  # the environment's folder
    finally:
        PLATFORMS_UP.discard(tmp_path / "state")
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


def _champion(tracking_uri: str, state: Path) -> str:
    """The champion's version: after a run there always is one (learned or baseline)."""
    from mlflow import MlflowClient

    username, password = mlflow_auth(state)
    creds = ServiceCredentials(username, mlflow_password=password)
    with mlflow_signed_in(creds):
        client = MlflowClient(tracking_uri)
        return str(client.get_model_version_by_alias("crm-win-probability", "champion").version)


def _wait_for_version(serving: str, version: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        answer = _wait(f"{serving}/version").json()
        if answer.get("model_version") == version or time.monotonic() > deadline:
            return answer
        time.sleep(1)


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


SCRAPE_INTERVAL_S = 15  # the metrics workload's prometheus.yml


def _prometheus(port_base: int, query: str) -> list[dict]:
    answer = httpx.get(
        f"http://127.0.0.1:{port_base + 60}/api/v1/query", params={"query": query}, timeout=10
    ).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def _assert_prometheus_sees_the_requests(port_base: int) -> None:
    """The two /predict answers (200 and 422) are in Prometheus' query API within two
    scrape intervals, by endpoint and status; the alert rules are loaded."""
    query = 'sum by (path, status) (serving_requests_total{job="serving", path="/predict"})'
    deadline, seen = time.monotonic() + 2 * SCRAPE_INTERVAL_S + 5, {}
    while time.monotonic() < deadline:
        seen = {r["metric"]["status"]: float(r["value"][1]) for r in _prometheus(port_base, query)}
        if seen.get("200", 0) >= 1 and seen.get("422", 0) >= 1:
            break
        time.sleep(1)
    if not (seen.get("200", 0) >= 1 and seen.get("422", 0) >= 1):
        own = httpx.get(f"http://127.0.0.1:{port_base + 30}/metrics", timeout=10).text
        lines = [line for line in own.splitlines() if "serving_requests_total" in line]
        everything = _prometheus(port_base, "serving_requests_total")
        pytest.fail(f"Prometheus has {seen}; {everything}; the service says {lines}")
    assert _prometheus(port_base, 'up{job="serving"}')[0]["value"][1] == "1"
    alerts = _alert_rules(port_base)
    assert {"ServiceDown", "PredictionErrorRateHigh", "PredictionLatencyP99High"} <= alerts


def _assert_a_down_service_reaches_the_webhook(
    port_base: int, state: Path, received: list[dict]
) -> None:
    """Serving stopped and kept down: Prometheus' next scrape fails, the alert fires,
    Alertmanager (group_wait 10 s) posts it, Slack-style, to the monitoring webhook."""
    rules = state / "data" / "metrics" / "rules.d"
    rules.mkdir(exist_ok=True)
    (rules / "delivery-check.yml").write_text(SERVING_DOWN_NOW)
    os.kill(int(_supervisorctl(state, "pid", "metrics").stdout), signal.SIGHUP)  # reload
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "ServingDownNow" not in _alert_rules(port_base):
        time.sleep(0.5)
    assert "ServingDownNow" in _alert_rules(port_base)
    stop = _supervisorctl(state, "stop", "serving")
    assert stop.returncode == 0, stop.stdout + stop.stderr
    deadline = time.monotonic() + 2 * SCRAPE_INTERVAL_S + 30
    while time.monotonic() < deadline and not _firing(received, "ServingDownNow"):
        time.sleep(1)
    assert _firing(received, "ServingDownNow"), received


def _assert_prometheus_knows_the_pipeline_run(port_base: int) -> None:
    """The pipeline run that made the champion is in Prometheus, read from Prefect's API
    by the flow-metrics exporter: its deployment's last success and run time."""
    success = 'opsctl_flow_last_success_timestamp_seconds{deployment="crm-pipeline/crm-pipeline"}'
    deadline = time.monotonic() + 2 * SCRAPE_INTERVAL_S + 5
    while time.monotonic() < deadline and not _prometheus(port_base, success):
        time.sleep(1)
    found = _prometheus(port_base, success)
    assert found and time.time() - 3600 < float(found[0]["value"][1]) <= time.time(), found
    duration = 'opsctl_flow_run_duration_seconds{deployment="crm-pipeline/crm-pipeline"}'
    assert float(_prometheus(port_base, duration)[0]["value"][1]) > 0


def _supervisorctl(state: Path, *args: str) -> subprocess.CompletedProcess:
    conf = state / "run" / "supervisord.conf"
    return subprocess.run(
        [str(Path(sys.executable).parent / "supervisorctl"), "-c", str(conf), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _alert_rules(port_base: int) -> set[str]:
    rules = httpx.get(f"http://127.0.0.1:{port_base + 60}/api/v1/rules", timeout=10).json()
    return {
        r["name"] for g in rules["data"]["groups"] for r in g["rules"] if r["type"] == "alerting"
    }


def _firing(received: list[dict], alert: str) -> bool:
    return any(
        a.get("title", "").startswith(f"[FIRING] {alert}")
        for body in received
        for a in body.get("attachments", [])
    )


def test_serving_follows_the_champion_and_logs_to_s3(
    platform, webhook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, port_base, state = platform
    serving = f"http://127.0.0.1:{port_base + 30}"
    assert httpx.get(f"{serving}/health").status_code == 200

    # the user's own files after the generated-data bootstrap: other agents, no signal
    folder = crm_folder(tmp_path / "crm")
    run = _opsctl(env, "pipeline", "run", "--source", str(folder), "--wait", "--output", "json")
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)["report"]
    version = _champion(f"http://127.0.0.1:{port_base + 10}", state)
    assert report["serving"]["version"] == version
    served = _wait_for_version(serving, version)
    assert served["model_version"] == version, served
    assert served["data"]["source"] == "folder" and served["data"]["rows"]["read"] == 3000
    assert served["data"]["version"] == report["training"]["data"]["version"]
    if served["kind"] == "baseline":
        assert served["note"].startswith("no learned model beats the historical win rate")

    # authentication fails closed: the key opsctl generated, read as an operator would
    key = _opsctl(env, "config", "api-key").stdout.strip()
    assert len(key) >= 32
    deals = open_deals(folder, as_of="2017-12-31")
    records = {"dataframe_records": deals[:1]}
    assert httpx.post(f"{serving}/invocations", json=records).status_code == 401
    wrong = httpx.post(f"{serving}/invocations", json=records, headers={"X-API-Key": "x" + key})
    assert wrong.status_code == 401
    serving_client = httpx.Client(headers={"X-API-Key": key}, timeout=60)

    # real open deals are scored, about at the historical win rate
    scored = serving_client.post(f"{serving}/invocations", json={"dataframe_records": deals})
    assert scored.status_code == 200, scored.text[:500]
    assert abs(np.mean(scored.json()["predictions"]) - 0.632) < 0.08

    # the app offers the agents of the data the served model was trained on
    secrets = json.loads((state / "secrets.json").read_text())
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", secrets["s3-access-key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secrets["s3-secret-key"])
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{port_base}")
    choices = model_choices("s3://crm-data", served["data"])
    assert choices["agents"] == sorted(pd.read_csv(folder / "sales_teams.csv")["sales_agent"])

    rows = [{**deal, "opportunity_id": f"IT{i:04d}"} for i, deal in enumerate(deals[:5])]
    response = serving_client.post(f"{serving}/predict", json={"opportunities": rows})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["version"] == version and len(body["predictions"]) == 5
    bad = serving_client.post(
        f"{serving}/predict", json={"opportunities": [{**rows[0], "product": "X"}]}
    )
    assert bad.status_code == 422

    _assert_prometheus_sees_the_requests(port_base)
    _assert_prometheus_knows_the_pipeline_run(port_base)

    restart = _opsctl(env, "restart", "serving")  # a graceful stop writes the buffered log
    assert restart.returncode == 0, restart.stdout + restart.stderr
    logged = _logged_rows(state, port_base)
    mine = logged[logged["request_id"].eq(body["request_id"])]
    assert sorted(mine["opportunity_id"]) == [r["opportunity_id"] for r in rows]
    assert set(mine["model_version"]) == {version}

    # its log holds events, one a line with its request id, and no progress-bar frames
    log = (state / "logs" / "serving.log").read_text()
    assert "\r" not in log and "it/s]" not in log, log[-2000:]
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines and all(" request_id=" in line for line in lines), lines[:20]
    assert any(f"serving crm-win-probability version {version}" in line for line in lines)

    _assert_a_down_service_reaches_the_webhook(port_base, state, webhook[1])
