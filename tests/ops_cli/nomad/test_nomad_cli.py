"""``opsctl plan | deploy | status`` on staging, with Nomad answered by an HTTP server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import nomad_fixtures as fx
import pytest
from pytest_httpserver import HTTPServer

from ops_cli.config import load_environment
from tests.conftest import run_opsctl

REPO = Path(__file__).resolve().parents[3]


def opsctl(
    server: HTTPServer, tmp_path: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {**fx.cluster_environ(server), **(extra_env or {})}
    return run_opsctl(*args, home=tmp_path, environments=REPO / "environments", env=env)


def namespace_exists(server: HTTPServer, name: str = "crm-staging") -> None:
    server.expect_request(f"/v1/namespace/{name}", method="GET").respond_with_json(
        fx.namespace(name)
    )


def test_plan_exits_1_and_lists_the_change_when_something_would_change(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    namespace_exists(httpserver)
    httpserver.expect_request(
        "/v1/job/mlflow/plan", method="POST", headers={"X-Nomad-Token": "tok-from-env"}
    ).respond_with_json(fx.plan_answer())

    result = opsctl(httpserver, tmp_path, "plan", "mlflow", "--env", "staging", "-o", "json")

    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["changes"] is True
    (job,) = report["jobs"]
    assert job["change"] == "update"
    assert job["groups"][0]["canary"] == 1
    assert any("Config[image]" in line for line in job["fields"])


def enabled_jobs(env: str) -> list[str]:
    return list(load_environment(env, REPO / "environments", environ={}).enabled_workloads())


def test_plan_exits_0_when_the_cluster_matches(httpserver: HTTPServer, tmp_path: Path) -> None:
    # nomad-dev has no provisioner: `plan` shows the jobs alone
    for job in enabled_jobs("nomad-dev"):
        httpserver.expect_request(f"/v1/job/{job}/plan", method="POST").respond_with_json(
            fx.plan_answer(diff_type="None")
        )

    result = opsctl(httpserver, tmp_path, "plan", "--env", "nomad-dev")

    assert result.returncode == 0, result.stderr
    assert "no changes" in result.stdout


def test_plan_exits_255_on_an_api_error(httpserver: HTTPServer, tmp_path: Path) -> None:
    namespace_exists(httpserver)
    httpserver.expect_request("/v1/job/mlflow/plan").respond_with_data("denied", status=403)

    result = opsctl(httpserver, tmp_path, "plan", "mlflow", "--env", "staging")

    assert result.returncode == 255
    assert "permission denied" in result.stderr
    assert "Traceback" not in result.stderr


def test_plan_on_a_local_environment_is_a_usage_error(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    result = opsctl(httpserver, tmp_path, "plan", "--env", "local")

    assert result.returncode == 2
    assert "scheduler: nomad" in result.stderr


@pytest.mark.parametrize("output", ["json"])
def test_deploy_with_yes_registers_the_planned_job_and_follows_it(
    httpserver: HTTPServer, tmp_path: Path, output: str
) -> None:
    namespace_exists(httpserver)
    httpserver.expect_request("/v1/job/mlflow/plan", method="POST").respond_with_json(
        fx.plan_answer(modify_index=52)
    )
    httpserver.expect_request("/v1/jobs", method="POST").respond_with_json(fx.register_answer(53))
    httpserver.expect_request("/v1/job/mlflow").respond_with_json(fx.job(4, modify_index=53))
    httpserver.expect_request("/v1/job/mlflow/deployment").respond_with_json(
        fx.deployment(version=4)
    )

    result = opsctl(
        httpserver, tmp_path, "deploy", "mlflow", "--env", "staging", "--image", "v4@sha256:" + "5e" * 32,
        "--model", "challenger", "--yes", "-o", output,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["status"], report["version"]) == ("successful", 4)
    register = next(r for r, _ in httpserver.log if r.path == "/v1/jobs")
    body = json.loads(register.get_data())
    assert (body["EnforceIndex"], body["JobModifyIndex"]) == (True, 52)
    task = body["Job"]["TaskGroups"][0]["Tasks"][0]
    assert task["Config"]["image"] == "ghcr.io/opsctl/crm-platform:v4@sha256:" + "5e" * 32
    assert body["Job"]["Meta"]["opsctl_model_alias"] == "challenger"


def test_status_shows_version_allocations_and_health(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    for name in enabled_jobs("staging"):
        httpserver.expect_request(f"/v1/job/{name}").respond_with_json(fx.job(3))
        httpserver.expect_request(f"/v1/job/{name}/allocations").respond_with_json(
            [fx.allocation("a1"), fx.allocation("a2")]
        )
        httpserver.expect_request(f"/v1/job/{name}/deployment").respond_with_json(fx.deployment())
    httpserver.expect_request("/v1/health/service/mlflow").respond_with_json(
        [{"Node": {"Address": "10.0.1.5"}, "Service": {"Address": "", "Port": 25001, "Tags": []}}],
        headers={"X-Consul-Index": "9"},
    )
    httpserver.expect_request("/v1/health/service/prefect-server").respond_with_json(
        [], headers={"X-Consul-Index": "9"}
    )

    result = opsctl(httpserver, tmp_path, "status", "--env", "staging", "-o", "json")

    assert result.returncode == 0, result.stderr
    services = {s["name"]: s for s in json.loads(result.stdout)["services"]}
    mlflow = services["mlflow"]
    assert (mlflow["health"], mlflow["instances"], mlflow["version"]) == (
        "healthy",
        2,
        "v3 (stable)",
    )
    assert "2/2 healthy" in mlflow["detail"]
    assert mlflow["endpoints"] == [{"label": "MLflow UI", "url": "http://10.0.1.5:25001/"}]


def test_status_reports_a_consul_token_that_cannot_read_instead_of_no_endpoints(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    for name in enabled_jobs("staging"):
        httpserver.expect_request(f"/v1/job/{name}").respond_with_json(fx.job(3))
        httpserver.expect_request(f"/v1/job/{name}/allocations").respond_with_json(
            [fx.allocation("a1"), fx.allocation("a2")]
        )
        httpserver.expect_request(f"/v1/job/{name}/deployment").respond_with_json(fx.deployment())
    httpserver.expect_request("/v1/health/service/mlflow").respond_with_json(
        [], headers={"X-Consul-Index": "9", "X-Consul-Results-Filtered-By-ACLs": "true"}
    )

    result = opsctl(
        httpserver, tmp_path, "status", "--env", "staging", "-o", "json",
        extra_env={"OPSCTL_SECRET_CONSUL_TOKEN": "token-without-read"},
    )  # fmt: skip

    assert result.returncode == 1, result.stdout
    assert "filtered the answer to look up service 'mlflow' by ACLs" in result.stderr
    assert "the token in OPSCTL_SECRET_CONSUL_TOKEN" in result.stderr
    assert "token-without-read" not in result.stderr
    assert "Traceback" not in result.stderr


def namespace_missing(server: HTTPServer, name: str = "crm-staging") -> None:
    server.expect_request(f"/v1/namespace/{name}", method="GET").respond_with_data(
        "namespace not found", status=404
    )


def test_plan_with_a_missing_namespace_shows_a_creation_and_changes_nothing(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    namespace_missing(httpserver)

    result = opsctl(httpserver, tmp_path, "plan", "mlflow", "--env", "staging", "-o", "json")

    assert result.returncode == 1, result.stderr
    (job,) = json.loads(result.stdout)["jobs"]
    assert (job["change"], job["job_modify_index"]) == ("create", 0)
    assert job["groups"] == [
        {"group": "mlflow", "place": 1, "stop": 0, "in_place": 0, "destructive": 0,
         "canary": 0, "ignore": 0}
    ]  # fmt: skip
    assert "namespace 'crm-staging' does not exist yet" in job["warnings"]
    assert [r.method for r, _ in httpserver.log] == ["GET"]  # nothing written, nothing planned


def test_deploy_creates_a_missing_namespace_before_registering(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    namespace_missing(httpserver)
    httpserver.expect_request("/v1/namespace", method="POST").respond_with_data("")
    httpserver.expect_request("/v1/jobs", method="POST").respond_with_json(fx.register_answer(53))
    httpserver.expect_request("/v1/job/mlflow").respond_with_json(fx.job(0, modify_index=53))
    httpserver.expect_request("/v1/job/mlflow/deployment").respond_with_json(
        fx.deployment(version=0)
    )

    result = opsctl(httpserver, tmp_path, "deploy", "mlflow", "--env", "staging", "--yes")

    assert result.returncode == 0, result.stderr
    writes = [(r.path, json.loads(r.get_data())) for r, _ in httpserver.log if r.method == "POST"]
    assert [path for path, _ in writes] == ["/v1/namespace", "/v1/jobs"]
    assert writes[0][1] == {"Name": "crm-staging", "Description": "opsctl environment 'staging'"}
    register = writes[1][1]
    assert (register["EnforceIndex"], register["JobModifyIndex"]) == (True, 0)
    assert register["Job"]["Namespace"] == "crm-staging"


def test_a_token_that_may_not_create_the_namespace_says_how_to_create_it(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    namespace_missing(httpserver)
    httpserver.expect_request("/v1/namespace", method="POST").respond_with_data(
        "Permission denied", status=403
    )

    result = opsctl(httpserver, tmp_path, "deploy", "mlflow", "--env", "staging", "--yes")

    assert result.returncode == 1
    assert "namespace 'crm-staging' does not exist, and the token in NOMAD_TOKEN" in result.stderr
    assert "nomad namespace apply" in result.stderr
    assert not [r for r, _ in httpserver.log if r.path == "/v1/jobs"]  # nothing registered
