"""Request and error rates for ``opsctl status``, read from Prometheus' query API
(a real HTTP server answering in the API's documented shape), and nothing at all,
never an error, when Prometheus is not up."""

from __future__ import annotations

import json

from pytest_httpserver import HTTPServer
from rich.console import Console
from werkzeug import Request, Response

from ops_cli.cli.render import status_rows, status_table
from ops_cli.scheduler.base import Endpoint, Health, WorkloadStatus
from ops_cli.traffic import Traffic, service_traffic


def _vector(*samples: tuple[str, str]) -> dict:
    result = [{"metric": {"job": job}, "value": [1700000000.0, value]} for job, value in samples]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def _statuses(url: str, metrics: Health = Health.HEALTHY) -> list[WorkloadStatus]:
    return [
        WorkloadStatus("serving", Health.HEALTHY),
        WorkloadStatus("metrics", metrics, endpoints=(Endpoint("Prometheus", url),)),
    ]


def test_rates_by_service_from_prometheus(httpserver: HTTPServer) -> None:
    def answer(request: Request) -> Response:
        query = request.args["query"]
        assert 'path!~"/health|/ready|/metrics"' in query and "[5m]" in query
        body = _vector(("serving", "0.5")) if "5.." in query else _vector(("serving", "4"))
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/v1/query").respond_with_handler(answer)
    traffic = service_traffic(_statuses(httpserver.url_for("/")))
    assert traffic == {"serving": Traffic(requests_per_s=4.0, error_ratio=0.125)}

    statuses = _statuses(httpserver.url_for("/"))
    rows = {r["name"]: r for r in status_rows(statuses, traffic)}
    assert rows["serving"]["requests_per_s"] == 4.0 and rows["serving"]["error_ratio"] == 0.125
    assert "requests_per_s" not in rows["metrics"]
    text = _text(status_table(statuses, "t", traffic=traffic))
    assert "req/s" in text and "4.00" in text and "12.5%" in text


def test_no_figures_when_prometheus_is_down_or_failing(httpserver: HTTPServer) -> None:
    assert service_traffic(_statuses(httpserver.url_for("/"), Health.STOPPED)) == {}
    httpserver.expect_request("/api/v1/query").respond_with_data("boom", status=500)
    assert service_traffic(_statuses(httpserver.url_for("/"))) == {}
    assert service_traffic([WorkloadStatus("serving", Health.HEALTHY)]) == {}
    assert "req/s" not in _text(status_table(_statuses("http://x"), "t"))


def _text(renderable) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()
