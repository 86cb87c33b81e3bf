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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ops_cli.discovery.static import StaticDiscovery
from ops_cli.environment import Environment
from ops_cli.errors import ConfigError, OpsError

PIPELINE_DEPLOYMENT = "crm-pipeline/crm-pipeline"
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass(frozen=True)
class PipelineEndpoints:
    """Where the pipeline's services answer, and where its data lives."""

    prefect_api: str
    mlflow: str
    data_url: str


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
        return self.state in FINAL_STATES


def service_url(env: Environment, service: str, variable: str, suffix: str = "") -> str:
    """The URL of ``service`` in ``env``: ``variable`` when set, else the static registry."""
    if os.environ.get(variable):
        return os.environ[variable].rstrip("/")
    found = StaticDiscovery(env.paths.registry_file).resolve(service)
    if not found:
        raise OpsError(
            f"environment '{env.name}': {service} is not known; is the platform up?",
            hint=f"run `opsctl up --env {env.name}` or set {variable}",
        )
    return found[0].url + suffix


def endpoints(env: Environment) -> PipelineEndpoints:
    """The Prefect API and MLflow URLs of ``env``; raises OpsError when they are unknown."""
    return PipelineEndpoints(
        prefect_api=service_url(env, "prefect-server", "PREFECT_API_URL", "/api"),
        mlflow=service_url(env, "mlflow", "MLFLOW_TRACKING_URI"),
        data_url=f"s3://{env.config.storage.buckets.data}",
    )


def resolve_source(source: str | None, env: Environment) -> str:
    """``kaggle``, ``synthetic`` or an existing folder (made absolute for the worker)."""
    source = source or env.config.pipeline.default_source
    if source in ("kaggle", "synthetic"):
        return source
    folder = Path(source).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"--source {source}: not 'kaggle', 'synthetic' or an existing folder")
    return str(folder.resolve())


def deploy(env: Environment, eps: PipelineEndpoints, *, source: str, rows: int) -> list[dict]:
    """Register (create or update) the pipeline's deployments on the ``platform`` pool."""
    cfg = env.config
    margins = cfg.pipeline.margins.model_dump()
    command = [
        sys.executable, "-m", "workloads.flows.deploy",
        "--data-url", eps.data_url,
        "--model-name", cfg.registry.model_name,
        "--champion-alias", cfg.registry.champion_alias,
        "--challenger-alias", cfg.registry.challenger_alias,
        "--quality-threshold", str(cfg.pipeline.quality_threshold),
        "--trials", str(cfg.pipeline.trials),
        "--source", source,
        "--rows", str(rows),
        *(arg for name, value in margins.items() for arg in ("--margin", f"{name}={value}")),
        "--predictions-url", f"s3://{cfg.storage.buckets.predictions}",
        "--monitoring-url", f"s3://{cfg.storage.buckets.monitoring}",
        *(arg for name, value in cfg.monitoring.model_dump().items()
          for arg in ("--monitoring", f"{name}={value}")),
    ]  # fmt: skip
    child_env = {**os.environ, "PREFECT_API_URL": eps.prefect_api}
    done = subprocess.run(command, capture_output=True, text=True, env=child_env, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise OpsError(f"registering the pipeline deployments failed:\n{tail}")
    return json.loads(done.stdout)["deployments"]


class PrefectApi:
    """The few Prefect REST calls the operator needs."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/") + "/", timeout=timeout_s)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise OpsError(f"Prefect API at {self.http.base_url} is unreachable: {exc}") from None
        if response.status_code >= 400:
            raise OpsError(f"Prefect API {method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def create_run(self, deployment: str, parameters: dict[str, Any]) -> dict[str, Any]:
        found = self._call("GET", f"deployments/name/{deployment}")
        return self._call(
            "POST", f"deployments/{found['id']}/create_flow_run", json={"parameters": parameters}
        )

    def flow_run(self, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"flow_runs/{run_id}")

    def flow_runs(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        return self._call("POST", "flow_runs/filter", json=body)

    def deployments(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        return self._call("POST", "deployments/filter", json=body)

    def progress(self, run_id: str) -> RunProgress:
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


def run(
    env: Environment,
    *,
    source: str | None,
    rows: int | None,
    month: str | None,
    wait: bool,
    on_progress: Callable[[RunProgress], None],
    timeout_s: float = 3600,
    poll_s: float = 2.0,
) -> RunProgress:
    """Register the deployments, start a pipeline run and, with ``wait``, follow it to
    its end. Returns the last observation; never raises because the run failed
    (that is its state), only when the platform cannot be reached."""
    eps = endpoints(env)
    source = resolve_source(source, env)
    rows = rows or env.config.pipeline.default_rows
    deploy(env, eps, source=source, rows=rows)
    api = PrefectApi(eps.prefect_api)
    parameters: dict[str, Any] = {"source": source, "rows": rows}
    if month:
        parameters["month"] = month
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


def status(env: Environment, limit: int = 10) -> dict[str, Any]:
    """The pipeline's deployments (with schedules) and its most recent runs."""
    api = PrefectApi(service_url(env, "prefect-server", "PREFECT_API_URL", "/api"))
    tagged = {"tags": {"all_": ["crm-pipeline"]}}
    deployments = api.deployments({"deployments": tagged})
    runs = api.flow_runs({"flow_runs": tagged, "sort": "EXPECTED_START_TIME_DESC",
                          "limit": limit})  # fmt: skip
    return {
        "deployments": [
            {"name": d["name"], "id": d["id"], "pool": d.get("work_pool_name"),
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
    """Every registered version of the environment's model: aliases, metrics, decision."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    name = env.config.registry.model_name
    client = MlflowClient(tracking_uri=service_url(env, "mlflow", "MLFLOW_TRACKING_URI"))
    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException as exc:
        raise OpsError(f"MLflow registry: {exc.message}") from None
    aliases: dict[str, list[str]] = {}
    if versions:  # search results omit aliases; the registered model lists them
        for alias, number in client.get_registered_model(name).aliases.items():
            aliases.setdefault(str(number), []).append(alias)
    rows = []
    for v in sorted(versions, key=lambda v: int(v.version), reverse=True):
        metrics = client.get_run(v.run_id).data.metrics if v.run_id else {}
        rows.append(
            {
                "name": name,
                "version": v.version,
                "aliases": sorted(aliases.get(str(v.version), [])),
                "created": v.creation_timestamp,
                "promotion": v.tags.get("promotion"),
                "run_id": v.run_id,
                "metrics": {k: round(metrics[k], 4) for k in sorted(metrics)
                            if k.startswith(("eval_", "baseline_"))},
            }
        )  # fmt: skip
    return rows


def champion_version(env: Environment) -> str | None:
    """The version the champion alias points to, or None when there is none yet.

    Uses MLflow's REST API directly: importing the MLflow client would cost
    ``opsctl up`` more than a second on every run.
    """
    url = service_url(env, "mlflow", "MLFLOW_TRACKING_URI")
    registry = env.config.registry
    response = httpx.get(
        f"{url}/api/2.0/mlflow/registered-models/alias",
        params={"name": registry.model_name, "alias": registry.champion_alias},
        timeout=10,
    )
    if response.status_code == 404:  # no registered model at all yet
        return None
    if response.status_code == 400 and "not found" in response.text:  # model, but no alias
        return None
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
