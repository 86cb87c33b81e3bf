"""Prometheus metrics of the platform's flows, read from Prefect's API on each scrape.

The flows run as Prefect deployments; Prefect's server already records every run's
outcome, end time and duration. This exporter asks it, at scrape time, for the last
completed and the last failed run of each deployment, so nothing is pushed, nothing
is kept here, and a run that crashed its process is seen like any other failure.

Metrics, labelled ``deployment`` (``flow/deployment``, as ``prefect deployment run``
names it):

``opsctl_flow_last_success_timestamp_seconds``  end of the last COMPLETED run
``opsctl_flow_last_failure_timestamp_seconds``  end of the last FAILED or CRASHED run
``opsctl_flow_run_duration_seconds``            run time of the last finished run
                                                (label ``state``: completed, failed)
``opsctl_flow_deployment_created_timestamp_seconds``  when the deployment was created
``opsctl_flow_schedule_period_seconds``         the gap between the next two fire
                                                times of its cron schedule (only
                                                scheduled deployments)
``opsctl_flow_api_up``                          1 when Prefect's API answered this scrape

Run as ``python -m workloads.flows.exporter --host H --port P`` with ``PREFECT_API_URL``.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
from cronsim import CronSim
from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("flow-metrics")

FAILED_STATES = ["FAILED", "CRASHED"]


def _timestamp(value: str | None) -> float | None:
    """Seconds since the epoch of an ISO 8601 time from Prefect, None for None."""
    return datetime.fromisoformat(value).timestamp() if value else None


def schedule_period_s(cron: str, timezone: str | None, now: datetime) -> float:
    """The gap in seconds between the next two fire times of ``cron`` after ``now``."""
    del timezone  # a period does not depend on the zone the times are read in
    fires = CronSim(cron, now.astimezone(UTC).replace(tzinfo=None))
    first = next(fires)
    return (next(fires) - first).total_seconds()


class PrefectFlows:
    """What Prefect's REST API at ``api_url`` says about deployments and their runs.

    Signs in as Prefect's own client does: ``auth_string`` (the server's
    ``PREFECT_SERVER_API_AUTH_STRING``) as HTTP basic credentials, and a CSRF token
    on every POST when the server protects against CSRF (a filter is a POST).
    """

    def __init__(
        self, api_url: str, *, timeout_s: float = 10.0, auth_string: str | None = None
    ) -> None:
        headers = {}
        if auth_string:
            headers["Authorization"] = "Basic " + base64.b64encode(auth_string.encode()).decode()
        self._client = httpx.Client(
            base_url=api_url.rstrip("/") + "/", timeout=timeout_s, headers=headers
        )
        self._client_id = uuid.uuid4().hex
        self._csrf: dict[str, str] | None = None

    def deployments(self) -> list[dict[str, Any]]:
        """Every deployment, each with ``label`` (``flow/deployment``) added."""
        flows = self._post("flows/filter", {})
        names = {f["id"]: f["name"] for f in flows}
        found = self._post("deployments/filter", {})
        return [{**d, "label": f"{names.get(d['flow_id'], '?')}/{d['name']}"} for d in found]

    def last_run(self, deployment_id: str, states: list[str]) -> dict[str, Any] | None:
        """The run of ``deployment_id`` in one of ``states`` that ended last, or None."""
        body = {
            "flow_runs": {
                "deployment_id": {"any_": [deployment_id]},
                "state": {"type": {"any_": states}},
            },
            "sort": "END_TIME_DESC",
            "limit": 1,
        }
        runs = self._post("flow_runs/filter", body)
        return runs[0] if runs else None

    def _post(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        response = self._client.post(path, json=body, headers=self._csrf_headers())
        if response.status_code == 403 and "CSRF" in response.text:
            self._csrf = None  # expired: ask for a new token once
            response = self._client.post(path, json=body, headers=self._csrf_headers())
        response.raise_for_status()
        return response.json()

    def _csrf_headers(self) -> dict[str, str]:
        """This client's CSRF headers; none when the server does not hand out tokens."""
        if self._csrf is None:
            found = self._client.get("csrf-token", params={"client": self._client_id})
            token = found.json().get("token") if found.status_code == 200 else None
            self._csrf = (
                {"Prefect-Csrf-Token": token, "Prefect-Csrf-Client": self._client_id}
                if token
                else {}
            )
        return self._csrf


class FlowCollector(Collector):
    """Reads :class:`PrefectFlows` on each scrape; ``opsctl_flow_api_up`` is 0, and
    nothing else is reported, when Prefect's API does not answer."""

    def __init__(self, flows: PrefectFlows) -> None:
        self._flows = flows

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges of the latest collection (prometheus_client's collector protocol)."""
        up = GaugeMetricFamily("opsctl_flow_api_up", "1 when Prefect's API answered")
        try:
            families = self._families(self._flows.deployments())
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            log.warning("Prefect's API did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, deployments: list[dict[str, Any]]) -> list[GaugeMetricFamily]:
        label = ["deployment"]
        success = GaugeMetricFamily(
            "opsctl_flow_last_success_timestamp_seconds",
            "End of the deployment's last completed run",
            labels=label,
        )
        failure = GaugeMetricFamily(
            "opsctl_flow_last_failure_timestamp_seconds",
            "End of the deployment's last failed or crashed run",
            labels=label,
        )
        duration = GaugeMetricFamily(
            "opsctl_flow_run_duration_seconds",
            "Run time of the deployment's last completed and last failed run",
            labels=["deployment", "state"],
        )
        created = GaugeMetricFamily(
            "opsctl_flow_deployment_created_timestamp_seconds",
            "When the deployment was created",
            labels=label,
        )
        period = GaugeMetricFamily(
            "opsctl_flow_schedule_period_seconds",
            "Gap between the next two fire times of the deployment's cron schedule",
            labels=label,
        )
        now = datetime.now(UTC)
        for deployment in deployments:
            name = deployment["label"]
            if stamp := _timestamp(deployment.get("created")):
                created.add_metric([name], stamp)
            if seconds := _period(deployment, now):
                period.add_metric([name], seconds)
            for family, states, state in (
                (success, ["COMPLETED"], "completed"),
                (failure, FAILED_STATES, "failed"),
            ):
                run = self._flows.last_run(deployment["id"], states)
                end = _timestamp(run.get("end_time")) if run else None
                if run is None or end is None:
                    continue
                family.add_metric([name], end)
                duration.add_metric([name, state], float(run.get("total_run_time") or 0.0))
        return [success, failure, duration, created, period]


def _period(deployment: dict[str, Any], now: datetime) -> float | None:
    """The period of the deployment's first active cron schedule, else None."""
    for entry in deployment.get("schedules") or []:
        schedule = entry.get("schedule") or {}
        if entry.get("active", True) and schedule.get("cron"):
            return schedule_period_s(schedule["cron"], schedule.get("timezone"), now)
    return None


def main(argv: list[str] | None = None) -> None:
    """Serve the metrics on ``--host``:``--port`` until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        raise SystemExit("flow-metrics: PREFECT_API_URL is not set")
    auth = os.environ.get("PREFECT_API_AUTH_STRING") or None
    REGISTRY.register(FlowCollector(PrefectFlows(api_url, auth_string=auth)))
    start_http_server(args.port, addr=args.host)
    log.info("serving flow metrics on %s:%d from %s", args.host, args.port, api_url)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
