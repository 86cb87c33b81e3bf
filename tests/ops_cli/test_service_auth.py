"""Loopback is no trust boundary: MLflow and Prefect demand credentials in every
environment, each client gets them, and no tool reports usage unless the operator
opts in (``telemetry.report_usage``), locally and in the Nomad jobs alike."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ops_cli.catalog import load_catalog
from ops_cli.config.loader import load_environment
from ops_cli.environment import open_environment
from ops_cli.errors import OpsError
from ops_cli.pipeline import PrefectApi
from ops_cli.scheduler.local.workload import resolve_local_workloads
from ops_cli.scheduler.nomad.render import render_jobs
from ops_cli.service_auth import ServiceCredentials, client_environ, credentials
from tests.ops_cli.nomad import nomad_fixtures as fx

REPO = Path(__file__).resolve().parents[2]
MLFLOW_CLIENTS = ("prefect-worker", "serving", "streamlit")
REPORTING_OFF = {
    "mlflow": {"MLFLOW_DISABLE_TELEMETRY": "true"},
    "prefect-server": {"PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
    "prefect-worker": {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
                       "NML_DISABLE_USAGE_LOGGING": "true"},
    "serving": {"MLFLOW_DISABLE_TELEMETRY": "true"},
    "streamlit": {"MLFLOW_DISABLE_TELEMETRY": "true"},
    "evidently-ui": {"DO_NOT_TRACK": "true"},
}  # fmt: skip
"""Each workload's variables that turn its tools' reporting off (the default)."""


def _local(environments_dir: Path, tmp_path: Path, **environ: str):
    environ = {"OPSCTL_STATE_DIR": str(tmp_path / "state"), **environ}
    env = open_environment("local", environments_dir=environments_dir, environ=environ)
    env.secrets.ensure_generated(env.local_secret_names())
    workloads = resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
    return env, {w.name: w for w in workloads}


def test_mlflow_and_prefect_demand_generated_credentials_that_every_client_gets(
    environments_dir: Path, tmp_path: Path
) -> None:
    env, workloads = _local(environments_dir, tmp_path)
    stored = json.loads(env.paths.secrets_file.read_text())
    assert env.paths.secrets_file.stat().st_mode & 0o777 == 0o600
    password, auth_string = stored["mlflow-password"], stored["prefect-auth-string"]
    assert len(password) >= 24 and len(auth_string) >= 24 and password != auth_string

    mlflow = workloads["mlflow"]
    assert "--app-name=basic-auth" in mlflow.command
    assert mlflow.env["MLFLOW_AUTH_ADMIN_USERNAME"] == "platform"
    assert mlflow.env["MLFLOW_AUTH_ADMIN_PASSWORD"] == password
    assert mlflow.env["MLFLOW_FLASK_SERVER_SECRET_KEY"] == stored["mlflow-flask-secret-key"]
    ((ini, content, mode),) = [f for f in mlflow.files if f[0].name == "basic_auth.ini"]
    assert mode == 0o600 and str(mlflow.data_dir / "basic_auth.db") in content
    assert Path(mlflow.env["MLFLOW_AUTH_CONFIG_PATH"]) == ini
    assert "default_permission = NO_PERMISSIONS" in content

    server = workloads["prefect-server"].env
    assert server["PREFECT_SERVER_API_AUTH_STRING"] == auth_string
    assert server["PREFECT_SERVER_CSRF_PROTECTION_ENABLED"] == "true"
    worker = workloads["prefect-worker"].env
    assert worker["PREFECT_API_AUTH_STRING"] == auth_string
    assert worker["PREFECT_CLIENT_CSRF_SUPPORT_ENABLED"] == "true"
    for name in MLFLOW_CLIENTS:
        signed_in = workloads[name].env
        assert (signed_in["MLFLOW_TRACKING_USERNAME"], signed_in["MLFLOW_TRACKING_PASSWORD"]) == (
            "platform",
            password,
        ), name
    for workload in workloads.values():  # secrets never on a command line
        assert not {password, auth_string} & set(workload.command), workload.name

    # opsctl's own clients: the deploy subprocess and the REST calls
    variables = client_environ(env)
    assert variables["PREFECT_API_AUTH_STRING"] == auth_string
    assert variables["MLFLOW_TRACKING_PASSWORD"] == password
    header = credentials(env).prefect_header()["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == auth_string


def test_seaweedfs_signs_its_http_apis_and_keeps_its_sockets_in_the_state_folder(
    environments_dir, tmp_path
) -> None:
    env, workloads = _local(environments_dir, tmp_path)
    storage = workloads["storage"]
    assert storage.command[1:3] == (f"-config_dir={storage.data_dir}", "server")
    ((path, content, mode),) = [f for f in storage.files if f[0].name == "security.toml"]
    key = env.secrets.require("seaweedfs-jwt-key")
    assert path.parent == storage.data_dir and mode == 0o600
    for section in ("jwt.signing", "jwt.signing.read", "jwt.filer_signing",
                    "jwt.filer_signing.read"):  # fmt: skip
        assert f'[{section}]\nkey = "{key}"' in content, section
    assert f"-filer.localSocket={storage.data_dir / 'filer.sock'}" in storage.command
    assert f"-s3.localSocket={storage.data_dir / 's3.sock'}" in storage.command


def test_usage_reporting_is_off_by_default(environments_dir: Path, tmp_path: Path) -> None:
    _, workloads = _local(environments_dir, tmp_path)
    for name, variables in REPORTING_OFF.items():
        assert variables.items() <= workloads[name].env.items(), name
    assert "-master.telemetry=false" in workloads["storage"].command
    streamlit = list(workloads["streamlit"].command)
    assert streamlit[streamlit.index("--browser.gatherUsageStats") + 1] == "false"


def test_opting_in_leaves_each_tool_at_its_own_default(environments_dir, tmp_path) -> None:
    """Opted in, no variable that turns reporting off is set at all: Evidently and
    NannyML read the mere presence of theirs (an empty DO_NOT_TRACK is still "off")."""
    _, workloads = _local(environments_dir, tmp_path, OPSCTL_TELEMETRY__REPORT_USAGE="true")
    presence = {"DO_NOT_TRACK", "NML_DISABLE_USAGE_LOGGING", "MLFLOW_DISABLE_TELEMETRY"}
    for workload in workloads.values():
        assert not presence & set(workload.env), workload.name
    assert workloads["prefect-server"].env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "true"
    assert "-master.telemetry=true" in workloads["storage"].command
    streamlit = list(workloads["streamlit"].command)
    assert streamlit[streamlit.index("--browser.gatherUsageStats") + 1] == "true"


@pytest.mark.parametrize("opted_in", [False, True])
def test_nomad_jobs_read_credentials_from_variables_and_keep_reporting_off(opted_in) -> None:
    environ = {**fx.APPLIED, **({"OPSCTL_TELEMETRY__REPORT_USAGE": "true"} if opted_in else {})}
    config = load_environment("staging", REPO / "environments", environ=environ)
    jobs = render_jobs(config, load_catalog())
    tasks = {name: job["TaskGroups"][0]["Tasks"][-1] for name, job in jobs.items()}
    secret_items = {
        "mlflow": ("MLFLOW_AUTH_ADMIN_PASSWORD", "mlflow_password"),
        "prefect-server": ("PREFECT_SERVER_API_AUTH_STRING", "prefect_auth_string"),
        "prefect-worker": ("PREFECT_API_AUTH_STRING", "prefect_auth_string"),
        "serving": ("MLFLOW_TRACKING_PASSWORD", "mlflow_password"),
        "streamlit": ("MLFLOW_TRACKING_PASSWORD", "mlflow_password"),
    }
    for name, (variable, item) in secret_items.items():
        templates = "".join(t["EmbeddedTmpl"] for t in tasks[name]["Templates"])
        assert f'{variable}={{{{ with nomadVar "nomad/jobs/{name}" }}}}{{{{ .{item} }}}}' in (
            templates
        ), name
        assert variable not in tasks[name]["Env"], name
    for name, variables in REPORTING_OFF.items():
        env = tasks[name]["Env"]
        if opted_in:
            assert not {"DO_NOT_TRACK", "NML_DISABLE_USAGE_LOGGING",
                        "MLFLOW_DISABLE_TELEMETRY"} & set(env), name  # fmt: skip
        else:
            assert variables.items() <= env.items(), name
    flag = "-master.telemetry=true" if opted_in else "-master.telemetry=false"
    assert (
        tasks["prefect-server"]["Env"]["PREFECT_SERVER_ANALYTICS_ENABLED"] == str(opted_in).lower()
    )
    assert "--app-name=basic-auth" in tasks["mlflow"]["Config"]["args"]
    assert flag not in json.dumps(tasks)  # storage is S3 in staging: no weed job
    assert "storage" not in jobs


def test_opsctl_keeps_its_own_mlflow_client_quiet_unless_opted_in(
    environments_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", "OPSCTL_TELEMETRY__REPORT_USAGE"):
        monkeypatch.delenv(variable, raising=False)
    open_environment("local", environments_dir=environments_dir)
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true" and os.environ["DO_NOT_TRACK"] == "true"

    for variable in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"):
        monkeypatch.delenv(variable)
    monkeypatch.setenv("OPSCTL_TELEMETRY__REPORT_USAGE", "true")
    open_environment("local", environments_dir=environments_dir)
    assert "MLFLOW_DISABLE_TELEMETRY" not in os.environ and "DO_NOT_TRACK" not in os.environ


def _prefect_server(httpserver: HTTPServer, auth: str, tokens: list[str]) -> list[dict]:
    """A server that checks Prefect's auth header and CSRF headers as Prefect does,
    issuing ``tokens`` in turn; returns the requests it saw."""
    seen: list[dict] = []
    expected = "Basic " + base64.b64encode(auth.encode()).decode()
    issued: dict[str, str] = {}

    def handle(request: Request) -> Response:
        seen.append({"path": request.path, "method": request.method,
                     "csrf": request.headers.get("Prefect-Csrf-Token")})  # fmt: skip
        if request.headers.get("Authorization") != expected:
            return Response('{"exception_message": "Unauthorized"}', 401)
        if request.path == "/api/csrf-token":
            issued[request.args["client"]] = tokens.pop(0)
            return Response(json.dumps({"token": issued[request.args["client"]]}), 200)
        client = request.headers.get("Prefect-Csrf-Client")
        if request.method != "GET" and issued.get(client or "") != seen[-1]["csrf"]:
            return Response('{"detail": "Invalid CSRF token or client identifier."}', 403)
        return Response("[]", 200, content_type="application/json")

    httpserver.expect_request("/api/csrf-token").respond_with_handler(handle)
    httpserver.expect_request("/api/flow_runs/filter").respond_with_handler(handle)
    return seen


def test_prefect_calls_carry_the_auth_string_and_a_renewed_csrf_token(httpserver) -> None:
    seen = _prefect_server(httpserver, "s3cret", ["first", "second"])
    creds = ServiceCredentials("platform", prefect_auth_string="s3cret")
    api = PrefectApi(httpserver.url_for("/api"), headers=creds.prefect_header())
    assert api.flow_runs({}) == []
    assert [s["path"] for s in seen] == ["/api/csrf-token", "/api/flow_runs/filter"]
    assert seen[-1]["csrf"] == "first"

    api._csrf = {**(api._csrf or {}), "Prefect-Csrf-Token": "expired"}
    assert api.flow_runs({}) == []  # refused once, then with a new token
    assert [s["csrf"] for s in seen[2:]] == ["expired", None, "second"]


def test_prefect_without_the_auth_string_is_a_clear_error(httpserver) -> None:
    _prefect_server(httpserver, "s3cret", ["first"])
    api = PrefectApi(httpserver.url_for("/api"))
    with pytest.raises(OpsError, match="not signed in .*prefect_auth_secret"):
        api.flow_runs({})
