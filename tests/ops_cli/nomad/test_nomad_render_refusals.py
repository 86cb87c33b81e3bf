"""What the Nomad rendering refuses before anything reaches the cluster: a job on fixed
node ports that needs more clients than the environment has (canary included), and a
docker image that is not pinned by digest. Each refusal is a configuration error
(exit 2) naming the workload and the setting or flag to change."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nomad_fixtures as fx
import pytest
from pytest_httpserver import HTTPServer

from ops_cli.catalog import load_catalog
from ops_cli.config.loader import load_environment
from ops_cli.config.models import EnvironmentConfig
from ops_cli.errors import ConfigError
from ops_cli.scheduler.nomad.render import render_job, render_jobs
from tests.conftest import run_opsctl

REPO = Path(__file__).resolve().parents[3]
CATALOG = load_catalog()


def config(env: str, **overrides: str) -> EnvironmentConfig:
    return load_environment(env, REPO / "environments", environ={**fx.APPLIED, **overrides})


def refusal(env: str, workload: str, *, image_tag: str | None = None, **overrides: str) -> str:
    with pytest.raises(ConfigError) as caught:
        render_job(config(env, **overrides), CATALOG, workload, image_tag=image_tag)
    assert caught.value.exit_code == 2
    return str(caught.value)


# -- fixed node ports ---------------------------------------------------------


@pytest.mark.parametrize("workload", ["serving", "streamlit"])
def test_a_fixed_port_job_needing_more_clients_than_there_are_is_refused(workload: str) -> None:
    # staging has 2 clients; 2 allocations + the canary need 3 nodes with the port free
    message = refusal("staging", workload, **{f"OPSCTL_WORKLOADS__{workload.upper()}__COUNT": "2"})
    assert f"workload '{workload}'" in message
    assert f"workloads.{workload}.count" in message
    assert f"workloads/catalog/{workload}.yaml update.canary" in message
    assert "need 3 clients" in message
    assert "aws.client_count 2" in message


def test_the_canary_counts_as_an_allocation_of_its_own() -> None:
    # prod: 3 clients hold 2 allocations and their canary, not 3 and a canary
    assert render_job(config("prod", OPSCTL_WORKLOADS__SERVING__COUNT="2"), CATALOG, "serving")
    message = refusal("prod", "serving", OPSCTL_WORKLOADS__SERVING__COUNT="3")
    assert "need 4 clients" in message and "aws.client_count 3" in message


def test_more_clients_make_room_for_the_same_job() -> None:
    job = render_job(
        config("staging", OPSCTL_WORKLOADS__SERVING__COUNT="2", OPSCTL_AWS__CLIENT_COUNT="3"),
        CATALOG,
        "serving",
    )
    assert job["TaskGroups"][0]["Count"] == 2


def test_jobs_on_dynamic_ports_are_not_limited_by_the_clients() -> None:
    job = render_job(config("staging", OPSCTL_WORKLOADS__MLFLOW__COUNT="5"), CATALOG, "mlflow")
    assert job["TaskGroups"][0]["Count"] == 5


# -- images pinned by digest --------------------------------------------------


def test_the_platform_image_without_a_digest_is_refused_naming_the_setting() -> None:
    applied = {k: v for k, v in fx.APPLIED.items() if k != "OPSCTL_IMAGE__DIGEST"}
    prod = load_environment("prod", REPO / "environments", environ=applied)
    assert prod.image.digest is None
    with pytest.raises(ConfigError) as caught:
        render_jobs(prod, CATALOG)
    message = str(caught.value)
    assert "ghcr.io/opsctl/crm-platform:latest is not pinned by digest" in message
    assert "image.digest" in message and "OPSCTL_IMAGE__DIGEST" in message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "tag",
    ["v4", "v4@sha256:5e5e", "v4@sha256:" + "5E" * 32, "v4@sha512:" + "5e" * 64],
)
def test_a_deploy_tag_without_a_full_digest_is_refused_naming_the_flag(tag: str) -> None:
    message = refusal("staging", "mlflow", image_tag=tag)
    assert f"workload 'mlflow': the image tag '{tag}' is not pinned by digest" in message
    assert "--image" in message and "TAG@sha256:" in message


def test_a_tag_with_its_digest_is_deployed_as_given() -> None:
    job = render_job(config("staging"), CATALOG, "mlflow", image_tag="v4@" + fx.DIGEST)
    image = job["TaskGroups"][0]["Tasks"][-1]["Config"]["image"]
    assert image == f"ghcr.io/opsctl/crm-platform:v4@{fx.DIGEST}"


# -- through the CLI ----------------------------------------------------------


def opsctl(
    server: HTTPServer, tmp_path: Path, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {**fx.cluster_environ(server), **extra}
    return run_opsctl(*args, home=tmp_path, environments=REPO / "environments", env=env)


def test_deploy_with_a_bare_tag_exits_2_before_asking_nomad_anything(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    result = opsctl(
        httpserver, tmp_path, "deploy", "mlflow", "--env", "staging", "--image", "v4", "--yes"
    )
    assert result.returncode == 2, result.stderr
    assert "workload 'mlflow': the image tag 'v4' is not pinned by digest" in result.stderr
    assert "Traceback" not in result.stderr
    assert not [r for r, _ in httpserver.log if r.path.startswith("/v1/job")]


def test_plan_of_a_fixed_port_job_without_room_exits_2(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    result = opsctl(
        httpserver,
        tmp_path,
        "plan",
        "serving",
        "--env",
        "staging",
        OPSCTL_WORKLOADS__SERVING__COUNT="2",
    )
    assert result.returncode == 2, result.stderr
    assert "workload 'serving' uses fixed node port(s)" in result.stderr
    assert "aws.client_count 2" in result.stderr
    assert "Traceback" not in result.stderr
    assert not [r for r, _ in httpserver.log if r.path.startswith("/v1/job")]
