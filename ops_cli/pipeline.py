"""The ML pipeline seen from the operator: register deployments, run the pipeline
through the environment's Prefect API, and read models from its MLflow registry.

opsctl never imports the pipeline's code: deployments are registered by running
``python -m workloads.flows.deploy`` as a subprocess, runs are created and
watched over Prefect's REST API, and models are listed with the MLflow client.
``PREFECT_API_URL`` and ``MLFLOW_TRACKING_URI`` override the discovered endpoints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from ops_cli.data_source import check_source
from ops_cli.discovery.resolve import service_url
from ops_cli.environment import Environment
from ops_cli.errors import OpsError
from ops_cli.pipeline_report import run_report, version_summary
from ops_cli.service_auth import client_environ, credentials, mlflow_signed_in
from ops_cli.workload_settings import flow_variables

PIPELINE_DEPLOYMENT = "crm-pipeline/crm-pipeline"
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass(frozen=True)
class PipelineEndpoints:
    """Where the pipeline's services answer (the data bucket reaches the flows as a
    setting: :mod:`ops_cli.workload_settings`)."""

    prefect_api: str
    mlflow: str


@dataclass
class RunProgress:
    """One observation of a pipeline run: its state and its subflows' states."""

    run_id: str
    name: str
    state: str
    message: str = ""
    steps: list[dict[str, str]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """True once the run is in a final state (completed, failed, crashed, cancelled)."""
        return self.state in FINAL_STATES


def endpoints(env: Environment) -> PipelineEndpoints:
    """The Prefect API and MLflow URLs of ``env``; raises OpsError when they are unknown."""
    return PipelineEndpoints(
        prefect_api=service_url(env, "prefect-server", "PREFECT_API_URL", "/api"),
        mlflow=service_url(env, "mlflow", "MLFLOW_TRACKING_URI"),
    )


def resolve_source(source: str | None, env: Environment) -> str:
    """``kaggle``, ``synthetic`` or a folder (made absolute for the worker), checked
    before anything is scheduled: raises ConfigError (exit 2) when the source cannot
    be read (see :mod:`ops_cli.data_source`)."""
    origin = f"--source {source}"
    if source is None:
        source = env.config.pipeline.default_source
        origin = f"pipeline.default_source '{source}' of environment '{env.name}'"
    return check_source(source, origin=origin, check_credentials=env.config.is_local)


def deploy(env: Environment, eps: PipelineEndpoints, *, source: str, rows: int) -> list[dict]:
    """Register (create or update) the pipeline's deployments on the ``platform`` pool,
    with the environment's settings as ``PIPELINE_*`` and ``MONITORING_*`` variables
    (:mod:`ops_cli.workload_settings`); ``source`` and ``rows`` are the pipeline's
    default run parameters. Returns the registered deployments (dicts with
    ``deployment``, ``id``, ``schedule``, ``pool``); raises OpsError when it fails."""
    command = [sys.executable, "-m", "workloads.flows.deploy", "--source", source,
               "--rows", str(rows)]  # fmt: skip
    child_env = {
        **os.environ,
        **client_environ(env),
        **flow_variables(env.config),
        "PREFECT_API_URL": eps.prefect_api,
    }
    done = subprocess.run(command, capture_output=True, text=True, env=child_env, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise OpsError(f"registering the pipeline deployments failed:\n{tail}")
    return json.loads(done.stdout)["deployments"]


class PrefectApi:
    """The few Prefect REST calls the operator needs, signed in as the server demands:
    ``headers`` carry its auth string (``Authorization``), and state-changing calls a
    CSRF token the server issued to this client (fetched once, renewed when refused)."""

    def __init__(
        self, base_url: str, timeout_s: float = 10.0, *, headers: dict[str, str] | None = None
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/", timeout=timeout_s, headers=headers or {}
        )
        self._client_id = uuid.uuid4().hex
        self._csrf: dict[str, str] | None = None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code == 403 and method != "GET" and "CSRF" in response.text:
            self._csrf = None  # expired: ask for a new token once
            response = self._send(method, path, **kwargs)
        if response.status_code == 401:
            raise OpsError(
                f"Prefect API at {self.http.base_url} refused the request: not signed in "
                "(the auth string is the secret that service_auth.prefect_auth_secret names: "
                "OPSCTL_SECRET_PREFECT_AUTH_STRING, or the environment's secrets file)"
            )
        if response.status_code >= 400:
            raise OpsError(f"Prefect API {method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = self._csrf_headers() if method != "GET" else {}
        try:
            return self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise OpsError(f"Prefect API at {self.http.base_url} is unreachable: {exc}") from None

    def _csrf_headers(self) -> dict[str, str]:
        """The CSRF headers of this client; none when the server does not protect
        against CSRF (it answers 422 to a token request then)."""
        if self._csrf is None:
            try:
                found = self.http.get("csrf-token", params={"client": self._client_id})
            except httpx.HTTPError as exc:
                raise OpsError(
                    f"Prefect API at {self.http.base_url} is unreachable: {exc}"
                ) from None
            token = _token(found) if found.status_code == 200 else None
            self._csrf = (
                {"Prefect-Csrf-Token": token, "Prefect-Csrf-Client": self._client_id}
                if token
                else {}
            )
        return self._csrf

    def create_run(self, deployment: str, parameters: dict[str, Any]) -> dict[str, Any]:
        """Start a run of ``deployment`` (``flow/name``) with ``parameters``; returns the flow run."""
        found = self._call("GET", f"deployments/name/{deployment}")
        return self._call(
            "POST", f"deployments/{found['id']}/create_flow_run", json={"parameters": parameters}
        )

    def flow_run(self, run_id: str) -> dict[str, Any]:
        """Flow run ``run_id`` as the API returns it (``state``, ``name``, ...)."""
        return self._call("GET", f"flow_runs/{run_id}")

    def flow_runs(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Flow runs matching the filter ``body``."""
        return self._call("POST", "flow_runs/filter", json=body)

    def deployments(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Deployments matching the filter ``body``."""
        return self._call("POST", "deployments/filter", json=body)

    def flow_names(self, ids: list[str]) -> dict[str, str]:
        """Flow names by flow id."""
        found = self._call("POST", "flows/filter", json={"flows": {"id": {"any_": ids}}})
        return {f["id"]: f["name"] for f in found}

    def progress(self, run_id: str) -> RunProgress:
        """Run ``run_id``'s state and its subflows' states, oldest subflow first."""
        run = self.flow_run(run_id)
        children = self.flow_runs(
            {"flow_runs": {"parent_flow_run_id": {"any_": [run_id]}},
             "sort": "EXPECTED_START_TIME_ASC"}
        )  # fmt: skip
        state = run.get("state") or {}
        return RunProgress(
            run_id=run_id,
            name=run.get("name", ""),
            state=state.get("type", "UNKNOWN"),
            message=state.get("message") or "",
            steps=[{"name": c["name"], "state": (c.get("state") or {}).get("name", "")}
                   for c in children],
        )  # fmt: skip


def _token(response: httpx.Response) -> str | None:
    """The ``token`` of a CSRF token answer; None for anything else."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("token") if isinstance(body, dict) else None


def prefect_api(env: Environment, url: str) -> PrefectApi:
    """A :class:`PrefectApi` on ``url`` signed in with ``env``'s auth string."""
    return PrefectApi(url, headers=credentials(env).prefect_header())


def run_parameters(*, source: str, rows: int, month: str | None, force: bool) -> dict[str, Any]:
    """The parameters of a ``crm-pipeline`` flow run. ``force`` trains, registers and
    gates a new version even when one was trained on the same data, code and settings
    (the flow reuses that version otherwise)."""
    parameters: dict[str, Any] = {"source": source, "rows": rows}
    if month:
        parameters["month"] = month
    if force:
        parameters["force"] = True
    return parameters


def run(
    env: Environment,
    *,
    source: str | None,
    rows: int | None,
    month: str | None,
    wait: bool,
    on_progress: Callable[[RunProgress], None],
    force: bool = False,
    timeout_s: float = 3600,
    poll_s: float = 2.0,
) -> RunProgress:
    """Check the source, register the deployments, start a pipeline run and, with
    ``wait``, follow it to its end. Returns the last observation; never raises
    because the run failed (that is its state), only when the source cannot be read
    (ConfigError, before anything is scheduled) or the platform cannot be reached.
    ``force``: see :func:`run_parameters`."""
    source = resolve_source(source, env)
    eps = endpoints(env)
    rows = rows or env.config.pipeline.default_rows
    deploy(env, eps, source=source, rows=rows)
    api = prefect_api(env, eps.prefect_api)
    parameters = run_parameters(source=source, rows=rows, month=month, force=force)
    created = api.create_run(PIPELINE_DEPLOYMENT, parameters)
    observed = api.progress(created["id"])
    on_progress(observed)
    deadline = time.monotonic() + timeout_s
    while wait and not observed.finished and time.monotonic() < deadline:
        time.sleep(poll_s)
        latest = api.progress(created["id"])
        if (latest.state, latest.steps) != (observed.state, observed.steps):
            on_progress(latest)
        observed = latest
    return observed


def _utc_now() -> str:
    return datetime.now(UTC).isoformat()


def status(env: Environment, limit: int = 10) -> dict[str, Any]:
    """The pipeline's deployments (with their flow and schedules) and its ``limit`` most
    recent runs, by expected start, none of those scheduled for later."""
    api = prefect_api(env, service_url(env, "prefect-server", "PREFECT_API_URL", "/api"))
    tagged = {"tags": {"all_": ["crm-pipeline"]}}
    deployments = api.deployments({"deployments": tagged})
    # Prefect creates a schedule's runs ahead of time: without the bound, the most
    # recent by expected start would be the next months' scheduled runs
    started = {**tagged, "expected_start_time": {"before_": _utc_now()}}
    runs = api.flow_runs({"flow_runs": started, "sort": "EXPECTED_START_TIME_DESC",
                          "limit": limit})  # fmt: skip
    flows = api.flow_names([d["flow_id"] for d in deployments]) if deployments else {}
    return {
        "deployments": [
            {"name": d["name"], "id": d["id"], "pool": d.get("work_pool_name"),
             "flow": flows.get(d["flow_id"]),
             "schedules": [s["schedule"].get("cron") for s in d.get("schedules", [])]}
            for d in deployments
        ],
        "runs": [
            {"name": r["name"], "id": r["id"], "state": (r.get("state") or {}).get("name"),
             "start": r.get("start_time"), "end": r.get("end_time")}
            for r in runs
        ],
    }  # fmt: skip


def models(env: Environment) -> list[dict[str, Any]]:
    """Every registered version of the environment's model: aliases, metrics, decision,
    its kind (``learned`` or ``baseline``) and ``data``: what it was trained on
    (source, version, rows, months; see :mod:`ops_cli.pipeline_report`)."""
    with mlflow_signed_in(credentials(env)):
        return _models(env)


def _models(env: Environment) -> list[dict[str, Any]]:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    name = env.config.registry.model_name
    client = MlflowClient(tracking_uri=service_url(env, "mlflow", "MLFLOW_TRACKING_URI"))
    try:
        versions = client.search_model_versions(f"name='{name}'")
        aliases: dict[str, list[str]] = {}
        if versions:  # search results omit aliases; the registered model lists them
            for alias, number in client.get_registered_model(name).aliases.items():
                aliases.setdefault(str(number), []).append(alias)
        runs = {v.run_id: client.get_run(v.run_id) for v in versions if v.run_id}
    except MlflowException as exc:
        raise OpsError(f"MLflow registry: {exc.message}") from None
    rows = []
    for v in sorted(versions, key=lambda v: int(v.version), reverse=True):
        metrics = runs[v.run_id].data.metrics if v.run_id else {}
        rows.append(
            {
                "name": name,
                "version": v.version,
                "aliases": sorted(aliases.get(str(v.version), [])),
                "created": v.creation_timestamp,
                **version_summary(dict(v.tags or {})),
                "run_id": v.run_id,
                "metrics": {k: round(metrics[k], 4) for k in sorted(metrics)
                            if k.startswith(("eval_", "baseline_"))},
            }
        )  # fmt: skip
    return rows


def report(env: Environment, pipeline_run_id: str) -> dict[str, Any]:
    """What pipeline run ``pipeline_run_id`` did and which model serves now
    (:func:`ops_cli.pipeline_report.run_report`)."""
    registry = env.config.registry
    tracking = service_url(env, "mlflow", "MLFLOW_TRACKING_URI")
    with mlflow_signed_in(credentials(env)):
        return run_report(tracking, registry.model_name, registry.champion_alias, pipeline_run_id)


def champion_version(env: Environment) -> str | None:
    """The version the champion alias points to, or None when there is none yet.

    Uses MLflow's REST API directly: importing the MLflow client would cost
    ``opsctl up`` more than a second on every run.
    """
    url = service_url(env, "mlflow", "MLFLOW_TRACKING_URI")
    registry = env.config.registry
    creds = credentials(env)
    response = httpx.get(
        f"{url}/api/2.0/mlflow/registered-models/alias",
        params={"name": registry.model_name, "alias": registry.champion_alias},
        auth=(creds.mlflow_username, creds.mlflow_password) if creds.mlflow_password else None,
        timeout=10,
    )
    if response.status_code == 404:  # no registered model at all yet
        return None
    if response.status_code == 400 and "not found" in response.text:  # model, but no alias
        return None
    if response.status_code == 401:
        raise OpsError(
            f"MLflow at {url} refused the request: not signed in (the password is the "
            f"secret '{env.config.service_auth.mlflow_password_secret}')"
        )
    if response.status_code != 200:
        raise OpsError(f"MLflow registry answered {response.status_code}: {response.text[:200]}")
    return str(response.json()["model_version"]["version"])


def bootstrap_needed(env: Environment) -> bool:
    """True for a local environment that runs the pipeline's services and has no
    champion yet: ``opsctl up`` then trains one so that serving and the app work."""
    enabled = env.config.enabled_workloads()
    if not env.config.is_local or not {"mlflow", "prefect-worker"} <= set(enabled):
        return False
    return champion_version(env) is None
