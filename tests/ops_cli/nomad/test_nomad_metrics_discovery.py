"""Prometheus on Nomad finds the workloads' instances without talking to Consul: the
platform image's Prometheus is Debian's, built without Consul (and Nomad) discovery,
and a client's Consul API listens on the node's loopback only. The metrics job's
templates write one target file per scraped workload from Consul's catalog (Nomad
renders them with its agent's access) and Prometheus reads them (``file_sd_configs``).
The configuration the cluster job renders passes Debian's ``promtool check config``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nomad_fixtures as fx
import pytest
import yaml

from ops_cli.catalog import load_catalog
from ops_cli.config.loader import load_environment
from ops_cli.scheduler.nomad.render import render_job

REPO = Path(__file__).resolve().parents[3]
CATALOG = load_catalog()
SCRAPED = {"serving": "serving", "metrics": "metrics", "alerts": "alerts", "mlflow": "mlflow"}
"""Workloads every cluster environment scrapes, by their Consul service."""


def metrics_templates(env: str) -> dict[str, dict[str, Any]]:
    """The metrics task's templates by destination."""
    config = load_environment(env, REPO / "environments", environ=dict(fx.APPLIED))
    job = render_job(config, CATALOG, "metrics")
    task = job["TaskGroups"][0]["Tasks"][-1]
    return {t["DestPath"]: t for t in task["Templates"]}


def prometheus_yml(templates: dict[str, dict[str, Any]]) -> str:
    return templates["${NOMAD_ALLOC_DIR}/data/prometheus.yml"]["EmbeddedTmpl"]


INSTANCES = re.compile(
    r'\{\{ range \$i, \$s := service "([^"|]+)\|any" \}\}\{\{ if \$i \}\}, \{\{ end \}\}'
    r'"\{\{ \$s\.Address \}\}:\{\{ \$s\.Port \}\}"\{\{ end \}\}'
)


def nomad_rendered(template: str, environment: dict[str, str], catalog: dict[str, list]) -> str:
    """``template`` as Nomad's template runner writes it, for the functions the metrics
    job uses: ``env``, every instance of a service (``catalog``), the first healthy
    instance (the alerts address) and escaped braces."""
    text = re.sub(r'\{\{ env "([^"]+)" \}\}', lambda m: environment[m[1]], template)
    text = INSTANCES.sub(lambda m: ", ".join(f'"{a}"' for a in catalog[m[1]]), text)
    text = re.sub(r'\{\{ \$first := "" \}\}.*?\{\{ \$first \}\}', "10.0.1.7:9093", text)
    text = text.replace('{{ "{{" }}', "{{").replace('{{ "}}" }}', "}}")
    assert '{{ env "' not in text and 'service "' not in text, text
    return text


@pytest.mark.parametrize("env", ["staging", "prod", "nomad-dev"])
def test_prometheus_reads_a_target_file_per_workload_and_never_asks_consul(env: str) -> None:
    templates = metrics_templates(env)
    config = prometheus_yml(templates)
    assert "consul_sd_configs" not in config and "nomad_sd_configs" not in config
    jobs = re.findall(
        r'\{"job_name": "([^"]+)", "metrics_path": "[^"]+", '
        r'"file_sd_configs": \[\{"files": \["\{\{ env "NOMAD_ALLOC_DIR" \}\}(/data/[^"]+)"\]\}\][,}]',
        config,
    )
    assert {name for name, _ in jobs} >= set(SCRAPED)
    for name, path in jobs:
        target = templates[f"${{NOMAD_ALLOC_DIR}}{path}"]
        service = CATALOG[name].service_name(CATALOG[name].metrics.port)  # type: ignore[union-attr]
        # every instance, healthy or not (ServiceDown alerts on the failing ones)
        assert f'service "{service}|any"' in target["EmbeddedTmpl"]
        assert f'"labels": {{"service": "{name}"}}' in target["EmbeddedTmpl"]
        # Prometheus re-reads a changed target file; an instance coming or going
        # never restarts it
        assert target["ChangeMode"] == "noop"


def test_other_jobs_get_no_target_files() -> None:
    config = load_environment("prod", REPO / "environments", environ=dict(fx.APPLIED))
    job = render_job(config, CATALOG, "serving")
    paths = [t["DestPath"] for t in job["TaskGroups"][0]["Tasks"][-1].get("Templates", [])]
    assert not [p for p in paths if "scrape-targets" in p]


@pytest.fixture
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        reason = "promtool is not installed (apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def test_the_cluster_configuration_passes_debians_promtool(promtool: str, tmp_path: Path) -> None:
    environment = {"NOMAD_ALLOC_DIR": str(tmp_path)}
    instances = {
        "serving": ["10.0.1.7:24001", "10.0.2.9:27411"],
        "metrics": ["10.0.1.7:21002"],
        "alerts": [],
        "flow-metrics": ["10.0.2.9:29120"],
        "mlflow": ["10.0.1.7:25000"],
    }
    for dest, template in metrics_templates("prod").items():
        path = Path(dest.replace("${NOMAD_ALLOC_DIR}", str(tmp_path)))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(nomad_rendered(template["EmbeddedTmpl"], environment, instances))
    data = tmp_path / "data"
    result = subprocess.run(
        [promtool, "check", "config", str(data / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    parsed = yaml.safe_load((data / "prometheus.yml").read_text())
    for job in parsed["scrape_configs"]:
        (file,) = job["file_sd_configs"][0]["files"]
        (group,) = json.loads(Path(file).read_text())
        assert group["labels"] == {"service": job["job_name"]}
        assert group["targets"] == instances[job["job_name"]]
