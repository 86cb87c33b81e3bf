"""The local platform end to end, on real SeaweedFS, MLflow and Prefect processes."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid

import boto3
import httpx
import psutil
import pytest

from ops_cli.config import load_environment
from ops_cli.scheduler.local.launch import OWNER_VARIABLE
from ops_cli.scheduler.local.reaper import of_workloads, owned_processes
from tests.conftest import REPO
from tests.integration.conftest import mlflow_auth, prefect_api

pytestmark = pytest.mark.integration

SERVICES = set(load_environment("local", REPO / "environments", environ={}).enabled_workloads())


def services(platform) -> dict[str, dict]:
    return {s["name"]: s for s in platform.json("status")["services"]}


def wait_until_healthy_again(platform, name: str, old_pid: int, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        service = services(platform)[name]
        if service["health"] == "healthy" and service["pid"] not in (None, old_pid):
            return service
        time.sleep(1)
    raise AssertionError(f"{name} did not come back: {services(platform)[name]}")


def s3(platform):
    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{platform.port_base}",
        aws_access_key_id=platform.secret("s3-access-key"),
        aws_secret_access_key=platform.secret("s3-secret-key"),
        region_name="us-east-1",
    )


def listening_ports(base: int) -> list[int]:
    return sorted(
        c.laddr.port
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and base <= c.laddr.port < base + 100
    )


def processes_of(state_dir) -> list[psutil.Process]:
    mine = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
        except psutil.Error:
            continue
        if str(state_dir) in cmdline and proc.pid != os.getpid():
            mine.append(proc)
    return mine


def test_up_kill_down_up_keeps_data(local_platform) -> None:
    platform = local_platform
    # what an operator's shell holds must not reach the services
    platform.env |= {"NOMAD_TOKEN": "operator-token", "AWS_SESSION_TOKEN": "operator-session",
                     "OPSCTL_SECRET_UNRELATED": "operator-secret"}  # fmt: skip
    first = platform.popen("up", "--no-bootstrap", "--output", "json")
    owner = platform.state_dir.parent / ".local.lock.owner"
    deadline = time.monotonic() + 30
    while not owner.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert owner.exists(), "the first up never took the lock"

    # a second up while the first runs is refused without touching the state
    second = platform.run("up", "--no-bootstrap", timeout=60)
    assert second.returncode == 1
    assert "is locked by another opsctl command" in second.stderr

    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    report = __import__("json").loads(out)
    assert report["changed"] is True
    assert set(report["started"]) == SERVICES
    assert {s["health"] for s in report["services"]} == {"healthy"}
    assert set(report["buckets_created"]) >= {"mlflow-artifacts", "crm-data"}
    state = __import__("json").loads((platform.state_dir / "state.json").read_text())
    assert state["last_action"] == "up"
    for name, service in services(platform).items():
        environ = psutil.Process(service["pid"]).environ()
        assert not {"NOMAD_TOKEN", "AWS_SESSION_TOKEN"} & set(environ), name
        assert not [k for k in environ if k.startswith("OPSCTL_SECRET_")], name
        assert environ[OWNER_VARIABLE].startswith(str(platform.state_dir / "data" / name) + "#")

    # every port is on loopback only
    for conn in psutil.net_connections(kind="inet"):
        if (
            conn.status == psutil.CONN_LISTEN
            and platform.port_base <= conn.laddr.port < platform.port_base + 100
        ):
            assert conn.laddr.ip == "127.0.0.1", conn

    mlflow_url = f"http://127.0.0.1:{platform.port_base + 10}"
    auth = mlflow_auth(platform.state_dir)
    experiment = f"persisted-{uuid.uuid4().hex[:8]}"
    created = httpx.post(
        f"{mlflow_url}/api/2.0/mlflow/experiments/create", json={"name": experiment}, auth=auth
    )
    assert created.status_code == 200, created.text
    prefect = httpx.get(f"http://127.0.0.1:{platform.port_base + 20}/api/health")
    assert prefect.status_code == 200 and prefect.json() is True
    assert_services_demand_credentials(platform, mlflow_url, experiment)
    s3(platform).put_object(Bucket="crm-data", Key="probe/hello.txt", Body=b"kept across restarts")
    assert s3(platform).get_object(Bucket="crm-data", Key="probe/hello.txt")["Body"].read() == (
        b"kept across restarts"
    )

    # kill -9 a single-process service and one that has children: both come back
    before = services(platform)
    for name in ("storage", "mlflow"):
        os.kill(before[name]["pid"], signal.SIGKILL)
    for name in ("storage", "mlflow"):
        wait_until_healthy_again(platform, name, before[name]["pid"])
    assert (
        httpx.get(
            f"{mlflow_url}/api/2.0/mlflow/experiments/get-by-name",
            params={"experiment_name": experiment},
            auth=auth,
        ).status_code
        == 200
    )

    again = platform.json("up", "--no-bootstrap")
    assert again["changed"] is False
    assert set(again["unchanged"]) == SERVICES

    down = platform.json("down")
    assert set(down["stopped"]) == SERVICES
    assert listening_ports(platform.port_base) == []
    assert processes_of(platform.state_dir) == []
    assert owned_processes(of_workloads(str(platform.state_dir / "data"))) == []

    back = platform.json("up", "--no-bootstrap")
    assert set(back["started"]) == SERVICES
    assert back["secrets_generated"] == [] and back["buckets_created"] == []
    found = httpx.get(
        f"{mlflow_url}/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": experiment},
        auth=auth,
    )
    assert found.status_code == 200, "the experiment did not survive down/up"
    body = s3(platform).get_object(Bucket="crm-data", Key="probe/hello.txt")["Body"].read()
    assert body == b"kept across restarts"


def assert_services_demand_credentials(platform, mlflow_url: str, experiment: str) -> None:
    """Another local user reaches the ports but not the services: MLflow and Prefect
    refuse a request without the environment's credentials (health probes stay open),
    Prefect refuses a state change without a CSRF token, SeaweedFS keeps its local
    sockets in the state folder, and the credentials are the owner's alone (0600)."""
    secrets_file = platform.state_dir / "secrets.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    stored = __import__("json").loads(secrets_file.read_text())
    for name in ("mlflow-password", "mlflow-flask-secret-key", "prefect-auth-string",
                 "seaweedfs-jwt-key"):  # fmt: skip
        assert len(stored[name]) >= 24, name

    anonymous = f"{mlflow_url}/api/2.0/mlflow/experiments/get-by-name"
    params = {"experiment_name": experiment}
    assert httpx.get(anonymous, params=params).status_code == 401
    assert httpx.get(anonymous, params=params, auth=("platform", "guess")).status_code == 401
    assert httpx.get(f"{mlflow_url}/").status_code == 401  # the UI too
    assert httpx.get(f"{mlflow_url}/health").status_code == 200
    alias = f"{mlflow_url}/api/2.0/mlflow/registered-models/alias"
    moved = httpx.post(alias, json={"name": "crm-win-probability", "alias": "champion",
                                    "version": "1"})  # fmt: skip
    assert moved.status_code == 401

    prefect = f"http://127.0.0.1:{platform.port_base + 20}/api"
    assert httpx.get(f"{prefect}/admin/version").status_code == 401
    assert httpx.get(f"{prefect}/csrf-token", params={"client": "x"}).status_code == 401
    assert httpx.post(f"{prefect}/flow_runs/filter", json={}).status_code in (401, 403)
    assert httpx.get(f"{prefect}/ready").status_code == 200
    signed_in = prefect_api(platform.state_dir, platform.port_base)
    no_csrf = signed_in.http.post("flow_runs/filter", json={})
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
    assert signed_in.flow_runs({"limit": 1}) == []  # with its token

    storage = platform.state_dir / "data" / "storage"
    assert {"filer.sock", "s3.sock"} <= {p.name for p in storage.iterdir()}
    s3_port, filer_port = platform.port_base, platform.port_base + 5
    # weed's default places, /tmp, get nothing from this platform (weed never removes its
    # socket files, so one left by an earlier run on these ports predates this folder)
    created = (platform.state_dir / ".opsctl-state").stat().st_mtime
    for default in (f"/tmp/seaweedfs-s3-{s3_port}.sock", f"/tmp/seaweedfs-filer-{filer_port}.sock"):
        assert not os.path.exists(default) or os.stat(default).st_mtime < created, default
    # the filer's HTTP API would bypass the S3 keys: it wants a token signed by the
    # environment's key, for reads and writes alike
    listed = httpx.get(f"http://127.0.0.1:{filer_port}/buckets/crm-data/probe/hello.txt")
    assert listed.status_code == 401, listed.text
    written = httpx.post(f"http://127.0.0.1:{filer_port}/buckets/crm-data/x", files={"f": b"x"})
    assert written.status_code == 401, written.text


def test_restart_and_logs(local_platform) -> None:
    platform = local_platform
    assert platform.run("up", "--no-bootstrap").returncode == 0
    before = services(platform)["prefect-worker"]["pid"]
    restarted = platform.run("restart", "prefect-worker")
    assert restarted.returncode == 0, restarted.stderr
    after = services(platform)["prefect-worker"]
    assert after["health"] == "healthy" and after["pid"] != before
    logs = platform.json("logs", "storage", "--lines", "5")
    assert 0 < len(logs["lines"]) <= 5


def test_port_in_use_is_named_before_anything_starts(local_platform) -> None:
    platform = local_platform
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", platform.port_base + 20))
    blocker.listen()
    try:
        result = platform.run("up", "--no-bootstrap", timeout=120)
    finally:
        blocker.close()
    assert result.returncode == 1
    assert f"port {platform.port_base + 20} (prefect-server.http)" in result.stderr
    assert f"(pid {os.getpid()})" in result.stderr
    assert listening_ports(platform.port_base) == []


def test_down_purge_deletes_data(local_platform) -> None:
    platform = local_platform
    assert platform.run("up", "--no-bootstrap").returncode == 0
    result = platform.json("down", "--purge", "--yes")
    assert result["purged"] is True
    assert not platform.state_dir.exists()
    assert listening_ports(platform.port_base) == []
