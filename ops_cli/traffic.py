"""Request and error rates of the services, read from the metrics workload's Prometheus.

``opsctl status`` shows them beside health when Prometheus is up; when it is not
(not installed, stopped, or not answering) there are simply no figures, never an
error: status must work while the platform is half down.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from ops_cli.scheduler.base import Health, WorkloadStatus

METRICS_WORKLOAD = "metrics"
WINDOW = "5m"
_REQUESTS = 'serving_requests_total{path!~"/health|/ready|/metrics"}'
"""Requests of clients: health probes and metric scrapes left out."""


@dataclass(frozen=True)
class Traffic:
    """One service's last five minutes: requests per second and the share of them
    answered with a server error (5xx)."""

    requests_per_s: float
    error_ratio: float


def prometheus_url(statuses: list[WorkloadStatus]) -> str | None:
    """The healthy metrics workload's base URL, or None."""
    for status in statuses:
        if status.name == METRICS_WORKLOAD and status.health is Health.HEALTHY:
            return status.endpoints[0].url.rstrip("/") if status.endpoints else None
    return None


def service_traffic(
    statuses: list[WorkloadStatus], *, timeout_s: float = 2.0
) -> dict[str, Traffic]:
    """Traffic by service (the scrape job, i.e. the workload's name); empty when
    Prometheus is not up or does not answer."""
    url = prometheus_url(statuses)
    if url is None:
        return {}
    try:
        requests = _by_job(url, f"sum by (job) (rate({_REQUESTS}[{WINDOW}]))", timeout_s)
        errors = _by_job(
            url, f'sum by (job) (rate({_REQUESTS[:-1]},status=~"5.."}}[{WINDOW}]))', timeout_s
        )
    except (httpx.HTTPError, ValueError, KeyError):
        return {}
    return {
        job: Traffic(rate, errors.get(job, 0.0) / rate if rate > 0 else 0.0)
        for job, rate in requests.items()
    }


def _by_job(url: str, query: str, timeout_s: float) -> dict[str, float]:
    answer = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=timeout_s)
    answer.raise_for_status()
    body = answer.json()
    if body.get("status") != "success":
        raise ValueError(body.get("error", "query failed"))
    return {r["metric"].get("job", ""): float(r["value"][1]) for r in body["data"]["result"]}
