"""The last hour of each service's request rate, server-error share and p99 latency,
from the metrics workload's Prometheus (``/api/v1/query_range``), for the Platform page."""

from __future__ import annotations

import time

import httpx
import pandas as pd

CLIENT_REQUESTS = 'path!~"/health|/ready|/metrics"'
"""Requests of clients: health probes and metric scrapes left out."""

QUERIES = {
    "requests per second": f"sum by (job) (rate(serving_requests_total{{{CLIENT_REQUESTS}}}[5m]))",
    "server-error share": (
        f'sum by (job) (rate(serving_requests_total{{{CLIENT_REQUESTS},status=~"5.."}}[5m]))'
        f" / sum by (job) (rate(serving_requests_total{{{CLIENT_REQUESTS}}}[5m]))"
    ),
    "p99 latency (s)": (
        "histogram_quantile(0.99, sum by (job, le) "
        f"(rate(serving_request_duration_seconds_bucket{{{CLIENT_REQUESTS}}}[5m])))"
    ),
}
"""What the page plots: one chart each, one line per service (the scrape job)."""


class MetricsUnavailable(RuntimeError):
    """Prometheus did not answer, or answered an error."""


def last_hour(
    prometheus_url: str, *, now: float | None = None, step_s: int = 60, timeout_s: float = 5.0
) -> dict[str, pd.DataFrame]:
    """One frame per entry of :data:`QUERIES`: a time index, a column per service
    (empty when Prometheus has no such series yet). Raises MetricsUnavailable."""
    end = time.time() if now is None else now
    return {
        title: _range(prometheus_url, query, end - 3600, end, step_s, timeout_s)
        for title, query in QUERIES.items()
    }


def _range(
    url: str, query: str, start: float, end: float, step_s: int, timeout_s: float
) -> pd.DataFrame:
    params: dict[str, str | float] = {"query": query, "start": start, "end": end, "step": step_s}
    try:
        answer = httpx.get(
            f"{url.rstrip('/')}/api/v1/query_range", params=params, timeout=timeout_s
        )
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise MetricsUnavailable(f"Prometheus at {url} does not answer: {exc}") from None
    if body.get("status") != "success":
        raise MetricsUnavailable(f"Prometheus at {url} answered: {body.get('error', body)}")
    columns = {}
    for series in body["data"]["result"]:
        times = pd.to_datetime([float(t) for t, _ in series["values"]], unit="s", utc=True)
        values = pd.to_numeric([v for _, v in series["values"]], errors="coerce")
        columns[series["metric"].get("job", "?")] = pd.Series(values, index=times)
    return pd.DataFrame(columns).sort_index()
