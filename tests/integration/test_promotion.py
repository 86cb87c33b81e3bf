"""Releases and promotion end to end on one machine: two local environments
(``local`` plays staging, ``local-prod`` plays prod), each with its own SeaweedFS,
MLflow server, buckets and state, on free blocks of loopback ports.

Only storage and MLflow run, and Prefect's server in ``local-prod`` (every other
workload is disabled in the test's copy of the environment files): promotion
touches the releases bucket and the registry, and the other services would only
slow a two-core machine down. ``local-prod`` keeps MLflow's and Prefect's stores
in the machine's PostgreSQL (127.0.0.1:5432, trust auth), in databases of the
test's own that ``up`` creates and ``down --purge`` drops.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml

from ops_cli.release.hashing import tree_sha256
from ops_cli.release.registry import Registry
from ops_cli.service_auth import ServiceCredentials, mlflow_signed_in
from tests.conftest import REPO, free_port_base
from tests.integration.conftest import prefect_api, signed_in_environ
from tests.integration.diagnostics import PLATFORMS_UP

pytestmark = pytest.mark.integration

SOURCE, TARGET = "local", "local-prod"
# the production rehearsal also runs Prefect's server: both of its stores are PostgreSQL
RUNNING = {SOURCE: {"storage", "mlflow"}, TARGET: {"storage", "mlflow", "prefect-server"}}
MODEL = "crm-win-probability"
IMAGE = "ghcr.io/opsctl/crm-platform:1.0.0@sha256:" + "ab" * 32

_REGISTER = textwrap.dedent(
    """
    import sys
    import mlflow
    import numpy as np
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    seed = int(sys.argv[1])
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] + rng.normal(scale=0.5, size=200) > 0).astype(int)
    mlflow.set_experiment("release-test")
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(
            LogisticRegression(C=1.0 + seed).fit(x, y), name="model",
            registered_model_name=sys.argv[2],
        )
    version = info.registered_model_version
    client = MlflowClient()
    for key, value in (("data.source", "folder"), ("data.version", "d" * 64),
                       ("training.fingerprint", "f" * 64), ("training.code_version", "c" * 12)):
        client.set_model_version_tag(sys.argv[2], str(version), key, value)
    client.set_registered_model_alias(sys.argv[2], "champion", str(version))
    print(version)
    """
)


@dataclass
class Env:
    """One running local environment and how to reach it."""

    name: str
    port_base: int
    state_dir: Path
    environ: dict[str, str]

    @property
    def mlflow(self) -> str:
        return f"http://127.0.0.1:{self.port_base + 10}"

    def opsctl(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ops_cli", *args],
            env=self.environ, cwd=REPO, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def json(self, *args: str) -> dict:
        done = self.opsctl(*args, "--output", "json")
        assert done.returncode == 0, f"opsctl {args}: {done.stderr}"
        return json.loads(done.stdout)

    def secret(self, name: str) -> str:
        return json.loads((self.state_dir / "secrets.json").read_text())[name]

    def credentials(self) -> ServiceCredentials:
        """How opsctl signs in to this environment's MLflow."""
        return ServiceCredentials("platform", mlflow_password=self.secret("mlflow-password"))

    def s3(self):
        return boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{self.port_base}", region_name="us-east-1",
            aws_access_key_id=self.secret("s3-access-key"),
            aws_secret_access_key=self.secret("s3-secret-key"),
        )  # fmt: skip

    def register_model(self, seed: int) -> str:
        """Train a small real model, register it and make it the champion; its version."""
        environ = {
            **self.environ,
            "MLFLOW_TRACKING_URI": self.mlflow,
            "MLFLOW_S3_ENDPOINT_URL": f"http://127.0.0.1:{self.port_base}",
            "AWS_ACCESS_KEY_ID": self.secret("s3-access-key"),
            "AWS_SECRET_ACCESS_KEY": self.secret("s3-secret-key"),
            "MLFLOW_TRACKING_USERNAME": "platform",
            "MLFLOW_TRACKING_PASSWORD": self.secret("mlflow-password"),
        }
        done = subprocess.run(
            [sys.executable, "-c", _REGISTER, str(seed), MODEL],
            env=environ, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip().splitlines()[-1]


def _environments_dir() -> Path:
    return Path(os.environ.get("OPSCTL_ENVIRONMENTS_DIR") or REPO / "environments")


def _private_environments(folder: Path, bases: dict[str, int], root: Path) -> Path:
    """A copy of the environments folder where each of the two environments names its
    own ports and state directory, and runs only storage and MLflow.

    In files, not ``OPSCTL_*`` variables: those apply to every environment a command
    opens, and ``promote`` opens both.
    """
    shutil.copytree(_environments_dir(), folder)
    names: set[str] = set()
    for file in ("base.yaml", f"{SOURCE}.yaml", f"{TARGET}.yaml"):
        names.update((yaml.safe_load((folder / file).read_text()) or {}).get("workloads") or {})
    for env, base in bases.items():
        path = folder / f"{env}.yaml"
        data = yaml.safe_load(path.read_text()) or {}
        data.setdefault("network", {})["port_base"] = base
        data["state_dir"] = str(root / "state")  # each environment in its own folder below
        data["workloads"] = {n: {"enabled": False} for n in names - RUNNING[env]}
        if data.get("database", {}).get("kind") == "postgresql":
            # databases of this test's own, so a developer's local-prod is never touched
            data["database"]["mlflow_database"] = f"opsctl_test_{base}_mlflow"
            data["database"]["prefect_database"] = f"opsctl_test_{base}_prefect"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, Env]]:
    """``local`` and ``local-prod`` up and healthy, the source with a champion model."""
    root = tmp_path_factory.mktemp("promotion")
    source_base = free_port_base(start=int(os.environ.get("OPSCTL_TEST_PORT_START", "22000")))
    target_base = free_port_base(start=source_base + 100)
    bases = {SOURCE: source_base, TARGET: target_base}
    folder = _private_environments(root / "environments", bases, root)
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "OPSCTL_", "AWS_"))
    }
    environ["OPSCTL_ENVIRONMENTS_DIR"] = str(folder)
    source, target = (
        Env(name, bases[name], root / "state" / name, environ) for name in (SOURCE, TARGET)
    )
    PLATFORMS_UP.add(root / "state")
    try:
        for env in (source, target):
            up = env.opsctl("up", "--env", env.name, "--no-bootstrap", "--output", "json")
            assert up.returncode == 0, up.stderr
        source.register_model(seed=1)
        yield source, target
    finally:
        PLATFORMS_UP.discard(root / "state")
        for env in (source, target):
            env.opsctl("down", "--env", env.name, "--purge", "--yes", timeout=300)


def _promote(source: Env, *args: str) -> subprocess.CompletedProcess[str]:
    return source.opsctl("promote", *args, "--from", SOURCE, "--to", TARGET, "--yes")


def _create(source: Env) -> dict:
    return source.json(
        "release", "create", "--env", SOURCE, "--image-digest", IMAGE, "--project-dir", str(REPO)
    )


def _champion(env: Env) -> dict:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=env.mlflow, registry_uri=env.mlflow)
    with mlflow_signed_in(env.credentials()):
        version = client.get_model_version_by_alias(MODEL, "champion")
    return {"version": version.version, "tags": version.tags}


def _audit(env: Env) -> list[dict]:
    client = env.s3()
    keys = [
        o["Key"]
        for o in client.list_objects_v2(Bucket="crm-prod-releases", Prefix=f"audit/{TARGET}/").get(
            "Contents", []
        )
    ]
    return [
        json.loads(client.get_object(Bucket="crm-prod-releases", Key=k)["Body"].read())
        for k in keys
    ]


def test_create_verify_promote_history(envs, tmp_path: Path) -> None:
    source, target = envs
    manifest = _create(source)
    release = manifest["release_id"]
    assert manifest["model"]["name"] == MODEL
    assert manifest["images"][0]["digest"] == "sha256:" + "ab" * 32
    assert release.endswith(manifest["content_sha256"][:12])

    listed = source.json("release", "list", "--env", SOURCE)["releases"]
    assert release in [r["release_id"] for r in listed]
    shown = source.json("release", "show", release, "--env", SOURCE)
    assert shown["intact"] is True and shown["verified"] is False

    verified = source.json("release", "verify", release, "--env", SOURCE)
    assert verified["passed"] is True, verified["checks"]
    assert {c["name"] for c in verified["checks"]} >= {"service storage healthy"}

    done = _promote(source, release, "--output", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["result"] == "succeeded"

    # the target's champion holds byte-identical artifacts: the same content hash
    champion = _champion(target)
    assert champion["version"] == report["model_version"]
    assert champion["tags"]["opsctl.artifact_sha256"] == manifest["model"]["artifact_sha256"]
    assert champion["tags"]["opsctl.release_id"] == release
    # and says what it was trained on, as the source's does (lineage, training fingerprint)
    source_tags = _champion(source)["tags"]
    for key in ("data.source", "data.version", "training.fingerprint", "training.code_version"):
        assert champion["tags"].get(key) == source_tags[key], key
    copied = Registry(target.mlflow, TARGET, target.credentials()).download(
        MODEL, champion["version"], tmp_path
    )
    assert tree_sha256(copied) == manifest["model"]["artifact_sha256"]

    records = [r for r in _audit(target) if r["release_id"] == release]
    assert [r["result"] for r in records] == ["succeeded"]
    assert records[0]["from_environment"] == SOURCE and records[0]["actor"]

    history = target.json("history", "--env", TARGET)
    assert history["current"]["release_id"] == release
    before = target.json("history", "--env", TARGET, "--at", "2000-01-01T00:00:00Z")
    assert before["current"] is None

    # promoting the same bundle again reuses the imported version
    again = _promote(source, release, "--output", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["model_version"] == report["model_version"]


def test_unverified_bundle_is_refused(envs) -> None:
    source, target = envs
    release = _create(source)["release_id"]
    done = _promote(source, release)
    assert done.returncode == 1
    assert "was never verified" in done.stderr
    assert [r["result"] for r in _audit(target) if r["release_id"] == release] == ["refused"]


def test_tampered_bundle_is_refused(envs) -> None:
    source, target = envs
    release = _create(source)["release_id"]
    assert source.json("release", "verify", release, "--env", SOURCE)["passed"] is True
    client, key = source.s3(), f"releases/{release}/manifest.json"
    stored = json.loads(client.get_object(Bucket="releases", Key=key)["Body"].read())
    stored["images"][0]["digest"] = "sha256:" + "cd" * 32
    client.put_object(Bucket="releases", Key=key, Body=json.dumps(stored).encode())

    done = _promote(source, release)
    assert done.returncode == 1
    assert "content hash does not match" in done.stderr
    shown = source.json("release", "show", release, "--env", SOURCE)
    assert shown["intact"] is False
    assert [r["result"] for r in _audit(target) if r["release_id"] == release] == ["refused"]


def test_failed_promotion_rolls_back_to_the_previous_champion(envs) -> None:
    from ops_cli.environment import open_environment
    from ops_cli.release.promotion import PromotionFailedError, promote
    from ops_cli.release.records import Check

    source, target = envs
    first = _create(source)["release_id"]
    assert source.json("release", "verify", first, "--env", SOURCE)["passed"] is True
    assert _promote(source, first).returncode == 0
    previous = _champion(target)["version"]

    source.register_model(seed=2)  # a new champion in the source: a new release
    second = _create(source)["release_id"]
    assert source.json("release", "verify", second, "--env", SOURCE)["passed"] is True

    moved: list[str] = []

    def failing_checks(env, registry, manifest, version) -> list[Check]:
        moved.append(registry.version_by_alias(MODEL, "champion").version)
        return [Check(name="injected failure after the alias moved", passed=False)]

    environ = {**source.environ}
    folder = Path(environ["OPSCTL_ENVIRONMENTS_DIR"])
    with pytest.raises(PromotionFailedError) as failed:
        promote(
            open_environment(SOURCE, environments_dir=folder, environ=environ),
            open_environment(TARGET, environments_dir=folder, environ=environ),
            second,
            environ=environ,
            checks=failing_checks,
        )
    report = failed.value.report
    assert report.result == "failed-rolled-back"
    assert moved and moved[0] != previous, "the alias had moved before the failure"
    assert f"rolled back: {MODEL}@champion -> version {previous}" in report.detail
    assert _champion(target)["version"] == previous
    assert [r["result"] for r in _audit(target) if r["release_id"] == second] == [
        "failed-rolled-back"
    ]
    assert target.json("history", "--env", TARGET)["current"]["release_id"] == first


def test_records_are_write_once_on_the_gateway(envs) -> None:
    from ops_cli.errors import OpsError
    from ops_cli.release.store import ReleaseStore

    source, _target = envs
    release = _create(source)["release_id"]
    store = ReleaseStore(source.s3(), "releases", "local: s3://releases")
    manifest = store.get_manifest(release)
    with pytest.raises(OpsError, match="never rewritten"):
        store.put_manifest(manifest)


_REHEARSAL = textwrap.dedent(
    """
    import pathlib
    import sys
    import time

    import mlflow
    import numpy as np
    from prefect import flow, task
    from sklearn.linear_model import LogisticRegression

    ready, gate = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])

    @task
    def start_tracking() -> str:
        mlflow.set_experiment("recovery-rehearsal")
        with mlflow.start_run() as run:
            mlflow.log_param("phase", "before")
        return run.info.run_id

    @task
    def wait_for_the_gate() -> None:
        ready.touch()
        deadline = time.monotonic() + 180
        while not gate.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the test never opened the gate")
            time.sleep(0.2)

    @task
    def finish_tracking(run_id: str) -> str:
        x = np.random.default_rng(0).normal(size=(50, 2))
        model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
        with mlflow.start_run(run_id=run_id):
            mlflow.log_metric("after", 1.0)
            info = mlflow.sklearn.log_model(
                model, name="model", registered_model_name="recovery-rehearsal"
            )
        return info.registered_model_version

    @flow(name="recovery-rehearsal")
    def rehearsal() -> str:
        run_id = start_tracking()
        wait_for_the_gate()
        return finish_tracking(run_id)

    print(rehearsal())
    """
)


def _terminate_backends(databases: list[str]) -> int:
    """Close every server connection to ``databases`` (as a PostgreSQL restart or a
    failover does); the number closed."""
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    connection.autocommit = True
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
            (databases,),
        )
        closed = cursor.fetchone()[0]
    connection.close()
    return closed


def test_local_prod_runs_on_postgresql_and_recovers_from_terminated_connections(
    envs, tmp_path: Path
) -> None:
    """MLflow and Prefect of the rehearsal keep their stores in PostgreSQL; a flow
    that tracks to MLflow runs while every connection to both databases is closed
    mid-run, and both servers carry on: the flow completes, its run and model are
    in MLflow. A second ``up`` then creates and restarts nothing."""
    _source, target = envs
    databases = [
        f"opsctl_test_{target.port_base}_mlflow",
        f"opsctl_test_{target.port_base}_prefect",
    ]
    prefect = f"http://127.0.0.1:{target.port_base + 20}/api"
    environ = {
        **target.environ,
        "PREFECT_API_URL": prefect,
        "MLFLOW_TRACKING_URI": target.mlflow,
        "MLFLOW_S3_ENDPOINT_URL": f"http://127.0.0.1:{target.port_base}",
        "AWS_ACCESS_KEY_ID": target.secret("s3-access-key"),
        "AWS_SECRET_ACCESS_KEY": target.secret("s3-secret-key"),
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        **signed_in_environ(target.state_dir),
    }
    ready, gate = tmp_path / "ready", tmp_path / "gate"
    flow_run = subprocess.Popen(
        [sys.executable, "-c", _REHEARSAL, str(ready), str(gate)],
        env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while not ready.exists() and flow_run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ready.exists(), flow_run.communicate(timeout=30)[1][-3000:]
        assert _terminate_backends(databases) > 0, "no server held a connection to its database"
        gate.touch()
        out, err = flow_run.communicate(timeout=300)
    finally:
        flow_run.kill()
    assert flow_run.returncode == 0, err[-3000:]
    version = out.strip().splitlines()[-1]

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=target.mlflow, registry_uri=target.mlflow)
    with mlflow_signed_in(target.credentials()):
        model = client.get_model_version("recovery-rehearsal", version)
        assert client.get_run(model.run_id).data.metrics["after"] == 1.0
    runs = prefect_api(target.state_dir, target.port_base).flow_runs(
        {"flows": {"name": {"any_": ["recovery-rehearsal"]}}}
    )
    assert [r["state_type"] for r in runs] == ["COMPLETED"]

    # the stores are in the environment's own PostgreSQL databases, schemas migrated
    import psycopg2

    for database, table in zip(databases, ("registered_models", "flow_run"), strict=True):
        with psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database) as db:
            with db.cursor() as cursor:
                cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
                assert cursor.fetchone()[0], f"{table} not in {database}"

    again = target.json("up", "--env", TARGET, "--no-bootstrap")
    assert again["changed"] is False and again["databases_created"] == []


def test_a_deployment_schedule_on_postgresql_creates_runs(envs) -> None:
    """Prefect's scheduler service inserts the scheduled runs of a deployment into
    PostgreSQL (with SQLAlchemy 2.1 it failed every loop and no run was ever made)."""
    _source, target = envs
    api = prefect_api(target.state_dir, target.port_base)  # signed in, with CSRF tokens
    flow_id = api._call("POST", "flows/", json={"name": "schedule-check"})
    created = api._call("POST", "deployments/", json={
        "name": "every-hour", "flow_id": flow_id["id"],
        "schedules": [{"schedule": {"interval": 3600}, "active": True}]})  # fmt: skip
    body = {"deployments": {"id": {"any_": [created["id"]]}}}
    deadline, runs = time.monotonic() + 60, []
    while not runs and time.monotonic() < deadline:
        time.sleep(1)
        runs = api.flow_runs(body)
    assert runs and {r["state_type"] for r in runs} == {"SCHEDULED"}
