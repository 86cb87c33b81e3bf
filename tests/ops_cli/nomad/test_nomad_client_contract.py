"""NomadClient against a real HTTP server answering in Nomad's documented shapes.

Checks the exact requests (paths, query, token header, bodies) and what each
error answer becomes: retried, or a clear message.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import nomad_fixtures as fx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ops_cli.catalog import load_catalog
from ops_cli.config.loader import load_environment
from ops_cli.scheduler.nomad.client import NomadClient, NomadConflictError, NomadError, RetryPolicy
from ops_cli.scheduler.nomad.connection import NomadConnection
from ops_cli.scheduler.nomad.render import render_job

REPO = Path(__file__).resolve().parents[3]
FAST = RetryPolicy(attempts=3, initial_wait_s=0.01, max_wait_s=0.02)
CONFLICT = "Enforcing job modify index 52: job exists with conflicting job modify index: 57"


def client_for(server: HTTPServer, *, timeout_s: float = 5.0) -> NomadClient:
    connection = NomadConnection(
        address=server.url_for("").rstrip("/"), namespace="crm-staging", token="s3cr3t-token"
    )
    return NomadClient(connection, timeout_s=timeout_s, retry=FAST)


def staging_job() -> dict:
    config = load_environment("staging", REPO / "environments", environ=fx.APPLIED)
    return render_job(config, load_catalog(), "mlflow")


def test_register_sends_the_job_envelope_with_enforce_index(httpserver: HTTPServer) -> None:
    job = staging_job()
    httpserver.expect_request(
        "/v1/jobs",
        method="POST",
        json={"Job": job, "EnforceIndex": True, "JobModifyIndex": 52},
        query_string={"namespace": "crm-staging"},
        headers={"X-Nomad-Token": "s3cr3t-token"},
    ).respond_with_json(fx.register_answer(53))

    answer = client_for(httpserver).register(job, modify_index=52)

    assert answer["JobModifyIndex"] == 53
    httpserver.check_assertions()


def test_registered_durations_are_integer_nanoseconds(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/jobs", method="POST").respond_with_json(fx.register_answer())
    client_for(httpserver).register(staging_job(), modify_index=0)

    body = json.loads(httpserver.log[0][0].get_data())
    group = body["Job"]["TaskGroups"][0]
    assert group["Update"]["MinHealthyTime"] == 30 * 10**9
    assert group["Update"]["ProgressDeadline"] == 600 * 10**9
    check = group["Services"][0]["Checks"][0]
    assert (check["Interval"], check["Timeout"]) == (5 * 10**9, 2 * 10**9)


def test_plan_asks_for_a_diff(httpserver: HTTPServer) -> None:
    job = staging_job()
    httpserver.expect_request(
        "/v1/job/mlflow/plan",
        method="POST",
        json={"Job": job, "Diff": True, "PolicyOverride": False},
    ).respond_with_json(fx.plan_answer())

    answer = client_for(httpserver).plan(job)

    assert answer["Annotations"]["DesiredTGUpdates"]["mlflow"]["Canary"] == 1


@pytest.mark.parametrize("status", [409, 500])
def test_enforce_index_conflict_is_refused_with_a_clear_message(
    httpserver: HTTPServer, status: int
) -> None:
    httpserver.expect_request("/v1/jobs", method="POST").respond_with_data(CONFLICT, status=status)

    with pytest.raises(NomadConflictError) as caught:
        client_for(httpserver).register(staging_job(), modify_index=52)

    assert "changed by someone else" in str(caught.value)
    assert "nothing was overwritten" in str(caught.value)
    assert len(httpserver.log) == 1  # never retried


def test_reads_are_retried_after_5xx(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/v1/job/mlflow").respond_with_data("boom", status=500)
    httpserver.expect_oneshot_request("/v1/job/mlflow").respond_with_data("bad gw", status=502)
    httpserver.expect_oneshot_request("/v1/job/mlflow").respond_with_json(fx.job())

    assert client_for(httpserver).job("mlflow")["Version"] == 3
    assert len(httpserver.log) == 3


def test_reads_give_up_with_the_status_after_the_last_attempt(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/job/mlflow").respond_with_data("internal error", status=500)

    with pytest.raises(NomadError, match="HTTP 500: internal error") as caught:
        client_for(httpserver).job("mlflow")

    assert caught.value.status == 500
    assert len(httpserver.log) == FAST.attempts


def test_register_is_retried_when_there_is_no_leader(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/v1/jobs", method="POST").respond_with_data(
        "No cluster leader", status=500
    )
    httpserver.expect_oneshot_request("/v1/jobs", method="POST").respond_with_json(
        fx.register_answer()
    )

    client_for(httpserver).register(staging_job(), modify_index=0)

    assert len(httpserver.log) == 2


def test_register_is_not_retried_after_an_unexplained_500(httpserver: HTTPServer) -> None:
    # the write may have been applied: retrying could act twice
    httpserver.expect_request("/v1/jobs", method="POST").respond_with_data("oops", status=500)

    with pytest.raises(NomadError, match="could not register job 'mlflow'"):
        client_for(httpserver).register(staging_job(), modify_index=0)

    assert len(httpserver.log) == 1


def _slow_then_fast(delay_s: float):
    calls = {"n": 0}

    def handler(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] == 1:
            time.sleep(delay_s)
        return Response(json.dumps(fx.job()), content_type="application/json")

    return handler


def test_a_read_that_times_out_is_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/job/mlflow").respond_with_handler(_slow_then_fast(0.45))

    assert client_for(httpserver, timeout_s=0.3).job("mlflow")["ID"] == "mlflow"
    assert len(httpserver.log) == 2


def test_a_write_that_times_out_is_reported_not_repeated(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/jobs", method="POST").respond_with_handler(_slow_then_fast(0.45))

    with pytest.raises(NomadError, match="no answer from Nomad") as caught:
        client_for(httpserver, timeout_s=0.3).register(staging_job(), modify_index=0)

    assert "may still have been applied" in (caught.value.hint or "")
    time.sleep(0.5)  # let the slow handler finish before the server stops
    assert len(httpserver.log) == 1


BLOCKED = "job scaling blocked due to active deployment"
SCALE_BODY = {"Count": 3, "Target": {"Group": "mlflow"}, "Message": "more"}


class FakeClock:
    """Monotonic seconds that move only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def scaling_client(server: HTTPServer, clock: FakeClock) -> NomadClient:
    connection = NomadConnection(address=server.url_for("").rstrip("/"), namespace="crm-staging")
    retry = RetryPolicy(attempts=3, initial_wait_s=1.0, max_wait_s=5.0)
    return NomadClient(connection, retry=retry, sleep=clock.sleep, clock=clock)


def running_deployment(healthy: int) -> dict:
    answer = fx.deployment(status="running", description="Deployment is running", healthy=healthy)
    answer["TaskGroups"]["mlflow"]["ProgressDeadline"] = 60 * 1_000_000_000
    answer["TaskGroups"]["mlflow"]["DesiredTotal"] = 40
    return answer


def test_scale_outlasts_a_deployment_that_keeps_progressing(httpserver: HTTPServer) -> None:
    """A deployment that runs 8 minutes, turning an allocation healthy every 40 s (inside
    its 60 s progress deadline): the scale waits it out, far beyond any retry count."""
    clock = FakeClock()
    httpserver.expect_request("/v1/job/mlflow/deployment").respond_with_handler(
        lambda _r: Response(json.dumps(running_deployment(int(clock.now // 40))))
    )

    def scale(_request: Request) -> Response:
        if clock.now < 480:
            return Response(BLOCKED, status=400)
        return Response(json.dumps({"EvalID": "e1", "JobModifyIndex": 70}))

    scaling = httpserver.expect_request("/v1/job/mlflow/scale", method="POST", json=SCALE_BODY)
    scaling.respond_with_handler(scale)

    answer = scaling_client(httpserver, clock).scale("mlflow", "mlflow", 3, "more")

    assert answer["JobModifyIndex"] == 70
    assert clock.now >= 480  # eight times the progress deadline
    assert len([r for r, _ in httpserver.log if r.path.endswith("/scale")]) > 3  # > attempts


def test_scale_gives_up_once_the_deployment_stalls_past_its_progress_deadline(
    httpserver: HTTPServer,
) -> None:
    clock = FakeClock()
    httpserver.expect_request("/v1/job/mlflow/deployment").respond_with_json(running_deployment(1))
    httpserver.expect_request("/v1/job/mlflow/scale", method="POST").respond_with_data(
        BLOCKED, status=400
    )

    with pytest.raises(NomadError, match="made no progress within its progress deadline") as caught:
        scaling_client(httpserver, clock).scale("mlflow", "mlflow", 3, "more")

    assert fx.DEPLOYMENT_ID in str(caught.value)
    # 60 s deadline + 60 s margin from the first look, plus at most one wait of 5 s
    assert 120 < clock.now <= 126


def test_other_transient_failures_of_scale_keep_their_count(httpserver: HTTPServer) -> None:
    clock = FakeClock()
    httpserver.expect_request("/v1/job/mlflow/scale", method="POST").respond_with_data(
        "rpc error: No cluster leader", status=500
    )

    with pytest.raises(NomadError, match="No cluster leader"):
        scaling_client(httpserver, clock).scale("mlflow", "mlflow", 3, "more")

    assert len(httpserver.log) == 3  # RetryPolicy.attempts


def test_other_400s_are_not_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/jobs", method="POST").respond_with_data(
        "1 error occurred: Task group mlflow validation failed", status=400
    )

    with pytest.raises(NomadError, match="HTTP 400: 1 error occurred"):
        client_for(httpserver).register(staging_job(), modify_index=0)

    assert len(httpserver.log) == 1


def test_permission_denied_says_which_token_to_set(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/job/mlflow").respond_with_data("Permission denied", status=403)

    with pytest.raises(NomadError, match="permission denied") as caught:
        client_for(httpserver).job("mlflow")

    assert "set NOMAD_TOKEN " in (caught.value.hint or "")  # where this client's token came from
    assert "s3cr3t-token" not in str(caught.value) + (caught.value.hint or "")


def test_a_missing_job_is_none(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/job/mlflow").respond_with_data("job not found", status=404)

    assert client_for(httpserver).job("mlflow") is None


def test_an_unreachable_cluster_is_retried_then_named() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connections are refused
    connection = NomadConnection(address=f"http://127.0.0.1:{port}", namespace="default")
    client = NomadClient(connection, timeout_s=1, retry=FAST)

    with pytest.raises(NomadError, match=f"no answer from Nomad at http://127.0.0.1:{port}"):
        client.job("mlflow")


def test_revert_enforces_the_prior_version(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/v1/job/mlflow/revert",
        method="POST",
        json={"JobID": "mlflow", "JobVersion": 2, "EnforcePriorVersion": 4},
    ).respond_with_json({"EvalID": "e2", "EvalCreateIndex": 80, "JobModifyIndex": 80})

    assert client_for(httpserver).revert("mlflow", 2, prior_version=4)["JobModifyIndex"] == 80


def test_promote_and_fail_address_the_deployment(httpserver: HTTPServer) -> None:
    dep = fx.DEPLOYMENT_ID
    httpserver.expect_request(
        f"/v1/deployment/promote/{dep}", method="POST", json={"DeploymentID": dep, "All": True}
    ).respond_with_json({"EvalID": "e3", "DeploymentModifyIndex": 90, "Index": 90})
    httpserver.expect_request(
        f"/v1/deployment/fail/{dep}", method="POST", json={"DeploymentID": dep}
    ).respond_with_json({"EvalID": "e4", "DeploymentModifyIndex": 91, "RevertedJobVersion": 3})

    client = client_for(httpserver)
    client.promote(dep)

    assert client.fail(dep)["RevertedJobVersion"] == 3


def test_versions_are_read_from_the_versions_envelope(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/job/mlflow/versions").respond_with_json(
        {"Versions": [fx.job(4, stable=False), fx.job(3)], "Diffs": None}
    )

    assert [v["Version"] for v in client_for(httpserver).versions("mlflow")] == [4, 3]


def test_a_revert_that_lost_a_race_is_a_conflict(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/job/mlflow/revert", method="POST").respond_with_data(
        "Current job has version 5; enforcing version 4", status=500
    )

    with pytest.raises(NomadConflictError, match="changed by someone else"):
        client_for(httpserver).revert("mlflow", 2, prior_version=4)

    assert len(httpserver.log) == 1


def test_versions_of_an_unknown_job_are_empty_not_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/job/ghost/versions").respond_with_data("job not found", 404)
    assert client_for(httpserver).versions("ghost") == []


def test_a_cluster_environment_refuses_a_token_over_plain_http() -> None:
    from ops_cli.connection import require_tls
    from ops_cli.errors import ConfigError

    with pytest.raises(ConfigError, match="NOMAD_ADDR .* requires TLS"):
        require_tls(True, "http://nomad.internal:4646", "NOMAD_ADDR", "staging")
    require_tls(True, "https://nomad.internal:4646", "NOMAD_ADDR", "staging")
    require_tls(True, "http://127.0.0.1:4646", "NOMAD_ADDR", "staging")  # a local tunnel
