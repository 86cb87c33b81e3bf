"""One stop budget for the prediction service, from uvicorn's graceful shutdown
through the prediction log's last upload to the process manager's kill:
supervisord's ``stopwaitsecs`` locally, Nomad's ``kill_timeout`` in a cluster."""

from __future__ import annotations

import configparser
from pathlib import Path

from ops_cli.catalog import load_catalog
from ops_cli.config.loader import load_environment
from ops_cli.environment import open_environment
from ops_cli.scheduler.local.supervisor_conf import render_supervisor_conf
from ops_cli.scheduler.local.workload import resolve_local_workloads
from ops_cli.scheduler.nomad.render import NS_PER_S, render_job
from tests.conftest import REPO
from workloads.serving.settings import ServingSettings

APPLIED = {
    "OPSCTL_IMAGE__DIGEST": "sha256:" + "5e" * 32,
    "OPSCTL_DATABASE__HOST": "crm.abc123.eu-west-1.rds.amazonaws.com",
    "OPSCTL_DATABASE__PASSWORD_SECRET_ARN": (
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1-AbCdEf"
    ),
}
"""What a cluster deploy knows once the infrastructure is applied and a release pinned."""


def test_the_service_stops_inside_the_process_managers_kill_timeout(
    environments_dir: Path, tmp_path: Path
) -> None:
    spec = load_catalog()["serving"]
    assert spec.stop_timeout_s is not None
    settings = ServingSettings.from_env(
        {"SERVING_STOP_TIMEOUT_S": spec.env["SERVING_STOP_TIMEOUT_S"], "SERVING_API_KEY": "k"}
    )
    assert settings.stop_timeout_s == spec.stop_timeout_s
    # requests in flight, then the last upload, with time to spare before the kill
    assert settings.graceful_s + settings.drain_s < spec.stop_timeout_s

    environ = {"OPSCTL_STATE_DIR": str(tmp_path / "state")}
    env = open_environment("local", environments_dir=environments_dir, environ=environ)
    env.secrets.ensure_generated(env.local_secret_names())
    workloads = resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
    text = render_supervisor_conf(
        workloads,
        socket_path=tmp_path / "s.sock",
        pid_file=tmp_path / "p",
        log_dir=tmp_path,
        data_dir=tmp_path / "data",
    )
    parser = configparser.RawConfigParser()
    parser.read_string(text.replace("%%", "%"))
    assert float(parser["program:serving"]["stopwaitsecs"]) == spec.stop_timeout_s
    assert parser["program:serving"]["stopsignal"] == "TERM"
    [serving] = [w for w in workloads if w.name == "serving"]
    assert serving.env["SERVING_SPOOL_DIR"].startswith(str(tmp_path / "state"))

    for name in ("staging", "prod"):
        config = load_environment(name, REPO / "environments", environ=APPLIED)
        tasks = render_job(config, load_catalog(), "serving")["TaskGroups"][0]["Tasks"]
        [task] = [t for t in tasks if t["Name"] == "serving"]
        assert task["KillTimeout"] == spec.stop_timeout_s * NS_PER_S
        assert task["Env"]["SERVING_STOP_TIMEOUT_S"] == spec.env["SERVING_STOP_TIMEOUT_S"]
        assert task["Env"]["SERVING_SPOOL_DIR"] == "${NOMAD_ALLOC_DIR}/data/prediction-spool"
