"""The flow-metrics exporter: what Prefect's API says about each deployment's runs
becomes the gauges the FlowNoSuccessInSchedulePeriod rule reads. Prefect's REST API is
stood in by a loopback HTTP server answering the documented filter endpoints."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from workloads.flows.exporter import FlowCollector, PrefectFlows, schedule_period_s

FLOWS = [{"id": "f1", "name": "monthly-processing"}, {"id": "f2", "name": "crm-pipeline"}]
DEPLOYMENTS = [
    {
        "id": "d1",
        "flow_id": "f1",
        "name": "monthly",
        "created": "2026-01-01T00:00:00Z",
        "schedules": [{"active": True, "schedule": {"cron": "0 2 * * *", "timezone": "UTC"}}],
    },
    {"id": "d2", "flow_id": "f2", "name": "crm-pipeline", "created": "2026-01-01T00:00:00Z"},
]
COMPLETED = {"end_time": "2026-02-01T02:05:00Z", "total_run_time": 300.5}


def _scrape(api: str) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(FlowCollector(PrefectFlows(api)))
    samples = {}
    for line in generate_latest(registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def _prefect(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/flows/filter", method="POST").respond_with_json(FLOWS)
    httpserver.expect_request("/api/deployments/filter", method="POST").respond_with_json(
        DEPLOYMENTS
    )

    def runs(request: Request) -> Response:
        body = request.get_json()
        ids = body["flow_runs"]["deployment_id"]["any_"]
        states = body["flow_runs"]["state"]["type"]["any_"]
        found = [COMPLETED] if ids == ["d1"] and states == ["COMPLETED"] else []
        assert body["sort"] == "END_TIME_DESC" and body["limit"] == 1
        return Response(json.dumps(found), content_type="application/json")

    httpserver.expect_request("/api/flow_runs/filter", method="POST").respond_with_handler(runs)


def test_the_last_success_its_duration_and_the_schedule_period_are_exported(
    httpserver: HTTPServer,
) -> None:
    _prefect(httpserver)
    samples = _scrape(httpserver.url_for("/api"))
    processing = '{deployment="monthly-processing/monthly"}'
    assert samples["opsctl_flow_api_up"] == 1
    end = datetime(2026, 2, 1, 2, 5, tzinfo=UTC).timestamp()
    assert samples[f"opsctl_flow_last_success_timestamp_seconds{processing}"] == end
    duration = '{deployment="monthly-processing/monthly",state="completed"}'
    assert samples[f"opsctl_flow_run_duration_seconds{duration}"] == 300.5
    assert samples[f"opsctl_flow_schedule_period_seconds{processing}"] == 86400
    # run by hand only: no period, never succeeded, but its creation is known
    pipeline = '{deployment="crm-pipeline/crm-pipeline"}'
    assert f"opsctl_flow_schedule_period_seconds{pipeline}" not in samples
    assert f"opsctl_flow_last_success_timestamp_seconds{pipeline}" not in samples
    created = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert samples[f"opsctl_flow_deployment_created_timestamp_seconds{pipeline}"] == created


def test_prefect_not_answering_is_api_up_zero_and_no_stale_figures(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/api/flows/filter").respond_with_data("down", status=503)
    samples = _scrape(httpserver.url_for("/api"))
    assert samples == {"opsctl_flow_api_up": 0.0}


def test_a_monthly_schedule_period_is_the_gap_to_the_month_after() -> None:
    now = datetime(2026, 1, 15, tzinfo=UTC)
    assert schedule_period_s("0 2 1 * *", "UTC", now) == 28 * 86400  # 1 Feb to 1 Mar


def test_it_signs_in_and_sends_a_csrf_token_as_prefects_client_does(
    httpserver: HTTPServer,
) -> None:
    """A server with an auth string and CSRF protection answers only a signed-in
    client that sent the token it handed out."""
    expected = {"Authorization": "Basic cGxhdGZvcm06czNjcjN0", "Prefect-Csrf-Token": "t0k3n"}
    httpserver.expect_request("/api/csrf-token", method="GET").respond_with_json(
        {"token": "t0k3n", "client": "any", "expiration": "2099-01-01T00:00:00Z"}
    )
    httpserver.expect_request(
        "/api/flows/filter", method="POST", headers=expected
    ).respond_with_json(FLOWS)
    httpserver.expect_request(
        "/api/deployments/filter", method="POST", headers=expected
    ).respond_with_json([])
    flows = PrefectFlows(httpserver.url_for("/api"), auth_string="platform:s3cr3t")
    assert [d["label"] for d in flows.deployments()] == []
