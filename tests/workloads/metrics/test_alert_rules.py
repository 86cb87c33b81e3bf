"""The metrics workload's Prometheus configuration and alert rules, checked by
Debian's own ``promtool``: every alert has ``promtool test rules`` cases
(``alert_rules_test.yml``), and the configuration a local environment renders
passes ``promtool check config``. ``promtool`` comes with the ``prometheus``
package, which ``.ci/run`` installs: in CI its absence is a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ops_cli.catalog import load_catalog
from ops_cli.environment import open_environment
from ops_cli.scheduler.local.workload import resolve_local_workloads

HERE = Path(__file__).parent
PROMTOOL = shutil.which("promtool")


@pytest.fixture
def promtool() -> str:
    if PROMTOOL is None:
        reason = "promtool is not installed (apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return PROMTOOL


def _spec_file(name: str) -> str:
    return next(f.content for f in load_catalog()["metrics"].files if f.path == name)


def test_every_alert_rule_passes_its_promtool_cases(promtool: str, tmp_path: Path) -> None:
    rules = _spec_file("alert-rules.yml")
    (tmp_path / "alert-rules.yml").write_text(rules)
    shutil.copy(HERE / "alert_rules_test.yml", tmp_path)
    done = subprocess.run(
        [promtool, "test", "rules", "alert_rules_test.yml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    alerts = {
        r["alert"] for g in yaml.safe_load(rules)["groups"] for r in g["rules"] if "alert" in r
    }
    cases = (HERE / "alert_rules_test.yml").read_text()
    assert {
        a for a in alerts if f"alertname: {a}," not in cases and f"alertname: {a}\n" not in cases
    } == set()


def test_the_local_configuration_scrapes_every_service_with_metrics_and_passes_promtool(
    promtool: str, environments_dir: Path, tmp_path: Path
) -> None:
    environ = {"OPSCTL_STATE_DIR": str(tmp_path / "state"), "OPSCTL_NETWORK__PORT_BASE": "18000"}
    env = open_environment("local", environments_dir=environments_dir, environ=environ)
    env.secrets.ensure_generated(env.local_secret_names())
    workloads = {
        w.name: w for w in resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
    }
    if "metrics" not in workloads:
        pytest.skip("prometheus is not installed, so the metrics workload is left out")
    for path, content, _mode in workloads["metrics"].files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    config = workloads["metrics"].data_dir / "prometheus.yml"
    done = subprocess.run(
        [promtool, "check", "config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = {j["job_name"]: j for j in yaml.safe_load(config.read_text())["scrape_configs"]}
    targets = {name: job["static_configs"][0]["targets"] for name, job in jobs.items()}
    assert targets["serving"] == ["127.0.0.1:18030"]
    # SeaweedFS serves its master's, volume server's, filer's and gateway's metrics on
    # the port its command names (`-metricsPort`)
    assert targets["storage"] == ["127.0.0.1:18008"]
    storage = workloads["storage"].command
    assert "-metricsPort=18008" in storage and "-metricsIp=127.0.0.1" in storage
    # MLflow's /metrics is behind its basic-auth app: Prometheus signs in as the
    # platform's user with the password from a 0600 file beside prometheus.yml
    assert targets["mlflow"] == ["127.0.0.1:18010"]
    assert "--expose-prometheus=" + str(workloads["mlflow"].data_dir / "prometheus-metrics") in (
        workloads["mlflow"].command
    )
    assert jobs["mlflow"]["basic_auth"] == {
        "username": "platform",
        "password_file": "mlflow-password",
    }
    files = {path.name: (path, content, mode) for path, content, mode in workloads["metrics"].files}
    password, content, mode = files["mlflow-password"]
    assert password.parent == config.parent and mode == 0o600
    assert content == env.secrets.require("mlflow-password") != ""
    assert all("basic_auth" not in job for name, job in jobs.items() if name != "mlflow")
    assert set(jobs) == {"serving", "metrics", "alerts", "flow-metrics", "storage", "mlflow"}
    alerting = yaml.safe_load(config.read_text())["alerting"]["alertmanagers"]
    assert alerting[0]["static_configs"][0]["targets"] == ["127.0.0.1:18061"]


def _alerts_workload(environments_dir: Path, tmp_path: Path, environ: dict[str, str]):
    environ = {
        "OPSCTL_STATE_DIR": str(tmp_path / "state"),
        "OPSCTL_NETWORK__PORT_BASE": "18000",
        **environ,
    }
    env = open_environment("local", environments_dir=environments_dir, environ=environ)
    env.secrets.ensure_generated(env.local_secret_names())
    workloads = {
        w.name: w for w in resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
    }
    if "alerts" not in workloads:
        reason = "prometheus-alertmanager is not installed (scripts/install-prometheus)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return workloads["alerts"]


def test_alertmanager_sends_to_the_monitoring_webhook_and_passes_amtool(
    environments_dir: Path, tmp_path: Path
) -> None:
    hook = "http://127.0.0.1:9/hooks/alerts"
    alerts = _alerts_workload(environments_dir, tmp_path, {"OPSCTL_SECRET_ALERT_WEBHOOK_URL": hook})
    files = {path.name: (path, content, mode) for path, content, mode in alerts.files}
    assert files["webhook-url"][1:] == (hook, 0o600)
    for path, content, _mode in alerts.files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    config = files["alertmanager.yml"][0]
    amtool = shutil.which("amtool")
    assert amtool, "amtool comes with prometheus-alertmanager"
    done = subprocess.run(
        [amtool, "check-config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    receiver = yaml.safe_load(config.read_text())["receivers"][0]["slack_configs"][0]
    assert receiver["api_url_file"] == str(files["webhook-url"][0])
    assert "--cluster.listen-address=" in alerts.command  # no gossip port on every interface


def test_without_a_webhook_alertmanager_still_runs_and_sends_nowhere(
    environments_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSCTL_SECRET_ALERT_WEBHOOK_URL", raising=False)
    alerts = _alerts_workload(environments_dir, tmp_path, {})
    files = {path.name: content for path, content, _mode in alerts.files}
    assert files["webhook-url"] == ""
