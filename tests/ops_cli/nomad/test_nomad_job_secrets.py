"""The prediction service's API key reaches the cluster's jobs: `up` and `deploy`
write it from opsctl's secret store into the Nomad Variable each job's template
reads (``nomad/jobs/<job>``), check-and-set, before the job is registered.

Against a real HTTP server answering in the shapes of Nomad's Variables API
documentation (``GET``/``PUT /v1/var/:path``, ``cas``)."""

from __future__ import annotations

import json
from pathlib import Path

import nomad_fixtures as fx
import pytest
from pytest_httpserver import HTTPServer
from test_nomad_cli import namespace_exists, opsctl

from ops_cli.catalog import load_catalog
from ops_cli.config.loader import load_environment
from ops_cli.scheduler.base import WorkloadEvent
from ops_cli.scheduler.nomad.client import NomadClient, NomadConflictError, NomadError, RetryPolicy
from ops_cli.scheduler.nomad.connection import NomadConnection
from ops_cli.scheduler.nomad.scheduler import NomadScheduler
from ops_cli.scheduler.nomad.variables import JobSecrets

REPO = Path(__file__).resolve().parents[3]
KEY = "serving-key-from-ci"
PATH = "/v1/var/nomad/jobs/serving"


def variable(items: dict[str, str], modify_index: int) -> dict:
    """A Variable as ``GET /v1/var/:path`` answers it (Items decrypted)."""
    return {"Namespace": "crm-staging", "Path": "nomad/jobs/serving", "CreateIndex": 30,
            "ModifyIndex": modify_index, "CreateTime": 1, "ModifyTime": 2, "Items": items}  # fmt: skip


def secrets_for(server: HTTPServer) -> JobSecrets:
    connection = NomadConnection(
        address=server.url_for("").rstrip("/"), namespace="crm-staging", token="tok"
    )
    client = NomadClient(connection, retry=RetryPolicy(attempts=2, initial_wait_s=0.01))
    return JobSecrets(client, "crm-staging", "NOMAD_TOKEN")


def events() -> tuple[list[WorkloadEvent], object]:
    seen: list[WorkloadEvent] = []
    return seen, seen.append


def test_a_missing_variable_is_created_only_if_still_missing(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="GET").respond_with_data("variable not found", 404)
    httpserver.expect_request(
        PATH,
        method="PUT",
        query_string={"cas": "0", "namespace": "crm-staging"},
        json={"Namespace": "crm-staging", "Path": "nomad/jobs/serving",
              "Items": {"serving_api_key": KEY}},
        headers={"X-Nomad-Token": "tok"},
    ).respond_with_json(variable({"serving_api_key": KEY}, 31))  # fmt: skip
    seen, progress = events()
    assert secrets_for(httpserver).ensure("serving", {"serving_api_key": KEY}, progress)
    httpserver.check_assertions()
    assert seen[0].detail == "secrets written to nomad/jobs/serving"
    assert KEY not in repr(seen)


def test_other_items_are_kept_and_the_write_is_check_and_set(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="GET").respond_with_json(
        variable({"serving_api_key": "old", "other": "kept"}, 41)
    )
    httpserver.expect_request(PATH, method="PUT", query_string={"cas": "41",
                              "namespace": "crm-staging"}).respond_with_json({})  # fmt: skip
    _, progress = events()
    assert secrets_for(httpserver).ensure("serving", {"serving_api_key": KEY}, progress)
    put = next(r for r, _ in httpserver.log if r.method == "PUT")
    assert json.loads(put.get_data())["Items"] == {"serving_api_key": KEY, "other": "kept"}


def test_an_unchanged_key_is_not_written_again(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="GET").respond_with_json(
        variable({"serving_api_key": KEY}, 41)
    )
    _, progress = events()
    assert not secrets_for(httpserver).ensure("serving", {"serving_api_key": KEY}, progress)
    assert [r.method for r, _ in httpserver.log] == ["GET"]


def test_a_concurrent_change_is_never_overwritten(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="GET").respond_with_json(variable({}, 41))
    httpserver.expect_request(PATH, method="PUT").respond_with_json(variable({"x": "y"}, 42), 409)
    _, progress = events()
    with pytest.raises(NomadConflictError, match="nothing was overwritten"):
        secrets_for(httpserver).ensure("serving", {"serving_api_key": KEY}, progress)
    assert [r.method for r, _ in httpserver.log].count("PUT") == 1


def test_a_token_that_may_not_write_variables_is_told_which_policy(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(PATH, method="GET").respond_with_data("not found", 404)
    httpserver.expect_request(PATH, method="PUT").respond_with_data("Permission denied", 403)
    _, progress = events()
    with pytest.raises(NomadError, match="may not write the Nomad Variable 'nomad/jobs/serving'") \
            as raised:  # fmt: skip
        secrets_for(httpserver).ensure("serving", {"serving_api_key": KEY}, progress)
    assert 'path "nomad/jobs/*"' in (raised.value.hint or "")


def test_the_jobs_that_use_the_key_get_it_and_no_other(httpserver: HTTPServer) -> None:
    config = load_environment("staging", REPO / "environments", environ=fx.APPLIED)
    connection = NomadConnection(address=httpserver.url_for("").rstrip("/"), namespace="n")
    held = NomadScheduler(config, load_catalog(), NomadClient(connection),
                          secret_values={"serving-api-key": KEY})  # fmt: skip
    items = {name: held.secret_items(name) for name in held._workloads()}
    users = {name for name, found in items.items() if found}
    assert users == {"serving", "streamlit", "prefect-worker"}
    assert items["serving"] == {"serving_api_key": KEY}
    none_held = NomadScheduler(config, load_catalog(), NomadClient(connection))
    assert none_held.secret_items("serving") == {}


def test_deploy_writes_the_key_before_registering_the_job(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    namespace_exists(httpserver)
    httpserver.expect_request("/v1/job/serving/plan", method="POST").respond_with_json(
        fx.plan_answer(modify_index=52)
    )
    httpserver.expect_request(PATH, method="GET").respond_with_data("not found", 404)
    httpserver.expect_request(PATH, method="PUT").respond_with_json(variable({}, 31))
    httpserver.expect_request("/v1/jobs", method="POST").respond_with_json(fx.register_answer(53))
    httpserver.expect_request("/v1/job/serving").respond_with_json(fx.job(4, modify_index=53))
    httpserver.expect_request("/v1/job/serving/deployment").respond_with_json(
        fx.deployment(version=4)
    )
    result = opsctl(httpserver, tmp_path, "deploy", "serving", "--env", "staging", "--yes",
                    "-o", "json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    order = [(r.method, r.path) for r, _ in httpserver.log]
    assert order.index(("PUT", PATH)) < order.index(("POST", "/v1/jobs"))
    put = next(r for r, _ in httpserver.log if r.method == "PUT")
    assert json.loads(put.get_data())["Items"] == {"serving_api_key": KEY}
    register = next(r for r, _ in httpserver.log if r.path == "/v1/jobs")
    assert KEY not in register.get_data(as_text=True)  # the job itself never holds it
