"""Commands that talk to the platform's services find them through the environment's
Discovery: in a Consul environment ``opsctl pipeline status`` asks the Prefect API and
``opsctl model list`` the MLflow server at the healthy instance Consul names.

The Consul agent is pytest-httpserver answering ``/v1/health/service/<name>`` in the
documented shape; the MLflow server is a real one; the Prefect API answers its filter
routes with documented shapes (the test is about where opsctl asks, not about Prefect).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import free_port_base
from tests.ops_cli.consul.test_consul_discovery_contract import health_entry

ENV = "nomad-dev"  # Consul discovery, plain http on loopback


def _entry(service: str, url: str) -> dict:
    host, port = url.split("://", 1)[1].rstrip("/").rsplit(":", 1)
    entry = health_entry(host, "", int(port))
    entry["Service"]["Service"] = service
    return entry


@pytest.fixture
def prefect_api() -> Iterator[HTTPServer]:
    """A second loopback server, standing where Consul says the Prefect server is."""
    server = HTTPServer(host="127.0.0.1", port=free_port_base(start=26600, size=1))
    server.start()
    yield server
    server.clear()
    server.stop()


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(
    environments_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    httpserver: HTTPServer,
    capsys: pytest.CaptureFixture[str],
):
    """Runs opsctl in this process against ``nomad-dev`` with Consul at ``httpserver``
    and no override variable set."""
    for name in ("MLFLOW_TRACKING_URI", "PREFECT_API_URL", "CONSUL_HTTP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPSCTL_ENVIRONMENTS_DIR", str(environments_dir))
    monkeypatch.setenv("OPSCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CONSUL_HTTP_ADDR", httpserver.url_for("").rstrip("/"))

    def run(*args: str) -> Ran:
        from ops_cli.cli.app import main

        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main([*args, "--env", ENV, "--output", "json"])
        out = capsys.readouterr()
        return Ran(int(exited.value.code or 0), out.out, out.err)

    return run


def _consul_knows(httpserver: HTTPServer, service: str, url: str) -> None:
    httpserver.expect_request(
        f"/v1/health/service/{service}", query_string={"passing": "1"}
    ).respond_with_json([_entry(service, url)], headers={"X-Consul-Index": "12"})


def test_pipeline_status_asks_the_prefect_server_consul_names(
    cli, httpserver: HTTPServer, prefect_api: HTTPServer
) -> None:
    _consul_knows(httpserver, "prefect-server", prefect_api.url_for(""))
    deployment = {"id": "d-1", "name": "crm-pipeline", "flow_id": "f-1",
                  "work_pool_name": "crm-pool", "schedules": [{"schedule": {"cron": "0 3 1 * *"}}]}  # fmt: skip
    run = {"id": "r-1", "name": "brave-fox", "state": {"type": "COMPLETED", "name": "Completed"},
           "start_time": "2026-11-01T03:00:00Z", "end_time": "2026-11-01T03:09:00Z"}  # fmt: skip
    api = prefect_api.expect_request
    api("/api/deployments/filter", method="POST").respond_with_json([deployment])
    api("/api/flows/filter", method="POST").respond_with_json([{"id": "f-1", "name": "crm"}])
    api("/api/flow_runs/filter", method="POST").respond_with_json([run])

    result = cli("pipeline", "status")

    assert result.exit_code == 0, result.stderr
    status = json.loads(result.stdout)
    assert [d["name"] for d in status["deployments"]] == ["crm-pipeline"]
    assert status["deployments"][0]["flow"] == "crm"
    assert [(r["name"], r["state"]) for r in status["runs"]] == [("brave-fox", "Completed")]
    # (the first request asks for a CSRF token, as state-changing calls carry one)
    filtered = next(r for r, _ in prefect_api.log if r.path == "/api/deployments/filter")
    asked = json.loads(filtered.get_data())
    assert asked["deployments"]["tags"] == {"all_": ["crm-pipeline"]}
    runs = next(r for r, _ in prefect_api.log if r.path == "/api/flow_runs/filter")
    assert "before_" in json.loads(runs.get_data())["flow_runs"]["expected_start_time"]


def test_pipeline_status_without_a_healthy_prefect_server_names_the_way_out(
    cli, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v1/health/service/prefect-server").respond_with_json(
        [], headers={"X-Consul-Index": "3"}
    )
    result = cli("pipeline", "status")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert json.loads(result.stdout)["error"] == (
        f"environment '{ENV}': consul knows no healthy instance of service 'prefect-server'"
    )
    assert "set PREFECT_API_URL" in result.stderr


def test_the_override_variable_wins_over_consul(
    cli, httpserver: HTTPServer, prefect_api: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", prefect_api.url_for("/api"))
    for path in ("deployments", "flow_runs"):
        prefect_api.expect_request(f"/api/{path}/filter", method="POST").respond_with_json([])
    result = cli("pipeline", "status")
    assert result.exit_code == 0, result.stderr
    assert httpserver.log == []  # Consul was not asked


def test_model_list_reads_the_mlflow_registry_consul_names(
    cli, httpserver: HTTPServer, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    name = f"consul-resolved-{uuid.uuid4().hex[:8]}"
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    client.create_registered_model(name)
    run = client.create_run("0")
    client.log_metric(run.info.run_id, "eval_roc_auc", 0.81)
    source = f"runs:/{run.info.run_id}/model"
    client.create_model_version(name, source=source, run_id=run.info.run_id)
    client.set_registered_model_alias(name, "champion", "1")
    monkeypatch.setenv("OPSCTL_REGISTRY__MODEL_NAME", name)
    _consul_knows(httpserver, "mlflow", mlflow_server)

    result = cli("model", "list")

    assert result.exit_code == 0, result.stderr
    listed = json.loads(result.stdout)
    assert listed["environment"] == ENV
    [version] = listed["versions"]
    assert (version["name"], version["version"], version["aliases"]) == (name, "1", ["champion"])
    assert version["metrics"] == {"eval_roc_auc": 0.81}
