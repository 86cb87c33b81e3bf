"""Create, verify and promote against fakes: a shared in-memory releases bucket, two
registries (different servers) and a cluster scheduler. The cluster path (images
deployed by digest, jobs rolled back) is checked only here; the real store and
registries are exercised by tests/integration/test_promotion.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops_cli.catalog import load_catalog
from ops_cli.environment import Environment
from ops_cli.errors import ConfigError, OpsError
from ops_cli.release import create, promotion, queries, records, verify
from ops_cli.release.images import parse_images
from ops_cli.release.manifest import ModelRef, TamperedError
from ops_cli.release.promotion import PromotionFailedError, PromotionRefusedError, promote
from ops_cli.release.records import Check
from ops_cli.release.store import ReleaseStore
from ops_cli.secrets import SecretStore
from ops_cli.state import StatePaths
from tests.conftest import environment_config
from tests.release.fakes import FakeCluster, FakeRegistry, FakeS3, artifact_hash

REPOSITORY = "ghcr.io/opsctl/crm-platform"
IMAGE = f"{REPOSITORY}:1.4.0@sha256:" + "a" * 64
MODEL = "crm-win-probability"
WORKLOADS = ["mlflow", "prefect-server", "prefect-worker"]


def cluster_env(name: str, tmp_path: Path) -> Environment:
    config = environment_config(
        {
            "name": name,
            "scheduler": "nomad",
            "discovery": "consul",
            "nomad": {},
            "consul": {},
            "auth": {"required": True},
            "storage": {"kind": "s3", "access_key_secret": None, "secret_key_secret": None,
                        "buckets": {"releases": "crm-releases"}},
            "workloads": {"storage": {"enabled": False}, **{w: {} for w in WORKLOADS}},
        }
    )  # fmt: skip
    paths = StatePaths(tmp_path / name)
    return Environment(config, load_catalog(), paths, SecretStore(paths.secrets_file, {}))


class World:
    """staging and prod on one shared releases bucket, each with its own registry."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.s3 = FakeS3("crm-releases")
        self.staging, self.prod = cluster_env("staging", tmp_path), cluster_env("prod", tmp_path)
        self.registries = {
            "staging": FakeRegistry("http://mlflow.staging", "staging"),
            "prod": FakeRegistry("http://mlflow.prod", "prod"),
        }
        self.clusters = {
            env: FakeCluster({w: [f"{REPOSITORY}:0.9.0"] for w in WORKLOADS})
            for env in ("staging", "prod")
        }
        for module in (create, promotion, verify, queries):
            monkeypatch.setattr(module, "open_store", self.store, raising=False)
        for module in (create, promotion, verify):
            monkeypatch.setattr(module, "tracking_uri", lambda env, *_a, **_k: env.name)
            monkeypatch.setattr(module, "Registry", lambda uri, *_: self.registries[uri])
        monkeypatch.setattr(
            Environment, "scheduler", lambda env, inspect_only=False: self.clusters[env.name]
        )

    def store(self, env: Environment) -> ReleaseStore:
        return ReleaseStore(self.s3, "crm-releases", f"{env.name}: s3://crm-releases")

    def champion(self, content: bytes) -> str:
        registry = self.registries["staging"]
        version = registry.add(content, dict(DESCRIBED))
        registry.set_alias(MODEL, "champion", version)
        return version

    def release(
        self, content: bytes = b"model-1", *, verified: bool = True, image: str = IMAGE
    ) -> str:
        self.champion(content)
        registry = self.registries["staging"]
        manifest = create.build_manifest(
            self.staging,
            images=parse_images([image]),
            model=create.champion(registry, self.staging.config),  # type: ignore[arg-type]
            commit="c" * 40,
            infrastructure={},
            created_at=records.now(),
            actor="ci",
        )
        self.store(self.staging).put_manifest(manifest)
        self.deploy_to_staging(image)
        if verified:
            assert verify.verify_release(self.staging, manifest.release_id, environ={}).passed
        return manifest.release_id

    def deploy_to_staging(self, image: str) -> None:
        """What deploy-staging.yml does before it verifies: staging runs the image."""
        cluster = self.clusters["staging"]
        cluster.default_image = image
        for versions in cluster.images.values():
            versions.append(cluster.default_image)

    def audit(self) -> list[dict]:
        return [
            json.loads(v) for k, v in sorted(self.s3.objects.items()) if k.startswith("audit/prod/")
        ]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    return World(tmp_path, monkeypatch)


DESCRIBED = {
    "kind": "baseline",
    "family": "historical_win_rate",
    "data": '{"source":"folder","version":"bf2809cf2490b049"}',
    "promotion.reason": "no learned model beats the historical win rate on this data; ...",
}


def test_promotion_deploys_the_digest_copies_the_model_and_audits(world: World) -> None:
    release = world.release()
    report = promote(world.staging, world.prod, release, environ={})

    assert report.result == "succeeded" and report.previous_model_version is None
    prod = world.registries["prod"]
    assert prod.aliases["champion"] == report.model_version
    assert prod.versions[report.model_version]["content"] == b"model-1"
    # what the model is and was trained on travels with it: prod says what staging says
    copied = prod.versions[report.model_version]["tags"]
    assert {k: copied[k] for k in DESCRIBED} == DESCRIBED
    pinned = f"{REPOSITORY}:1.4.0@sha256:" + "a" * 64
    assert world.clusters["prod"].applied == [(w, pinned) for w in WORKLOADS]
    [record] = world.audit()
    assert (record["result"], record["release_id"], record["to_environment"]) == (
        "succeeded", release, "prod"
    )  # fmt: skip
    assert record["images"] == [f"{REPOSITORY}@sha256:" + "a" * 64]
    assert queries.history(world.prod).current.release_id == release


def test_newest_verified_release_is_the_default(world: World) -> None:
    first = world.release(b"model-1")
    world.release(b"model-2", verified=False)
    assert promote(world.staging, world.prod, None, environ={}).release_id == first


def test_verification_fails_when_staging_runs_another_image(world: World) -> None:
    release = world.release(verified=False)
    world.clusters["staging"].images["mlflow"].append(f"{REPOSITORY}:hotfix")
    record = verify.verify_release(world.staging, release, environ={})
    failed = [c for c in record.checks if not c.passed]
    assert not record.passed and [c.name for c in failed] == [
        f"mlflow runs {REPOSITORY}@sha256:" + "a" * 64
    ]


def test_unverified_and_failed_verifications_are_refused(world: World) -> None:
    release = world.release(verified=False)
    with pytest.raises(PromotionRefusedError, match="was never verified"):
        promote(world.staging, world.prod, release, environ={})
    world.registries["staging"].set_alias(MODEL, "champion", "999")
    assert not verify.verify_release(world.staging, release, environ={}).passed
    with pytest.raises(PromotionRefusedError, match="did not pass its smoke checks"):
        promote(world.staging, world.prod, release, environ={})
    assert [r["result"] for r in world.audit()] == ["refused", "refused"]
    assert (
        world.clusters["prod"].applied == [] and "champion" not in world.registries["prod"].aliases
    )


def test_tampered_bundle_and_changed_model_artifacts_are_refused(world: World) -> None:
    release = world.release()
    key = f"releases/{release}/manifest.json"
    data = json.loads(world.s3.objects[key])
    data["git_commit"] = "d" * 40
    world.s3.objects[key] = json.dumps(data).encode()
    with pytest.raises(TamperedError, match="content hash does not match"):
        promote(world.staging, world.prod, release, environ={})

    other = world.release(b"model-2")
    version = world.registries["staging"].aliases["champion"]
    world.registries["staging"].versions[version]["content"] = b"overwritten"
    with pytest.raises(TamperedError, match="no longer has the artifacts"):
        promote(world.staging, world.prod, other, environ={})
    assert [r["result"] for r in world.audit()] == ["refused", "refused"]


def test_a_failed_deployment_rolls_back_jobs_and_alias(world: World) -> None:
    promote(world.staging, world.prod, world.release(b"model-1"), environ={})
    previous = world.registries["prod"].aliases["champion"]
    cluster = world.clusters["prod"]
    cluster.fail_deploy_of = "prefect-worker"
    second = world.release(b"model-2", image=f"{REPOSITORY}:1.4.1@sha256:" + "b" * 64)

    with pytest.raises(PromotionFailedError) as failed:
        promote(world.staging, world.prod, second, environ={})
    report = failed.value.report
    assert report.result == "failed-rolled-back"
    assert report.deployed == ["mlflow", "prefect-server"]
    assert cluster.rolled_back == ["mlflow", "prefect-server"], "Nomad reverted the failed one"
    assert cluster.images["mlflow"][-1] == f"{REPOSITORY}:1.4.0@sha256:" + "a" * 64
    assert world.registries["prod"].aliases["champion"] == previous
    assert f"-> version {previous}" in report.detail
    assert [r["result"] for r in world.audit()] == ["succeeded", "failed-rolled-back"]
    assert queries.history(world.prod).current.release_id != second


def test_failed_smoke_checks_without_a_previous_champion_remove_the_alias(world: World) -> None:
    def failing(env, registry, manifest, version) -> list[Check]:
        return [Check(name="injected", passed=False, detail="boom")]

    with pytest.raises(PromotionFailedError, match="rolled back") as failed:
        promote(world.staging, world.prod, world.release(), environ={}, checks=failing)
    assert "champion" not in world.registries["prod"].aliases
    assert world.registries["prod"].alias_moves[-1] == ("champion", None)
    assert "injected (boom)" in failed.value.report.detail


def test_records_are_never_rewritten(world: World) -> None:
    release = world.release()
    manifest = world.store(world.staging).get_manifest(release)
    with pytest.raises(OpsError, match="never rewritten"):
        world.store(world.staging).put_manifest(manifest)


def test_cluster_release_needs_the_platform_image_digest(world: World) -> None:
    with pytest.raises(ConfigError, match="--image-digest ghcr.io/opsctl/crm-platform"):
        create.require_platform_image(world.staging, [])


def test_champion_carries_the_artifact_hash(world: World) -> None:
    world.champion(b"model-x")
    ref = create.champion(world.registries["staging"], world.staging.config)  # type: ignore[arg-type]
    assert isinstance(ref, ModelRef) and ref.artifact_sha256 == artifact_hash(b"model-x")


def test_cli_renders_tables_and_json(world: World) -> None:
    from typer.testing import CliRunner

    from ops_cli.cli.app import app

    runner = CliRunner()
    world.champion(b"model-cli")

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    created = json.loads(
        run("release", "create", "--env", "staging", "--image-digest", IMAGE, "-o", "json")
    )
    release = created["release_id"]
    world.deploy_to_staging(IMAGE)
    assert "verified: passed" in run("release", "verify", release, "--env", "staging")
    assert "content hash matches" in run("release", "show", release, "--env", "staging")
    assert release in run("release", "list", "--env", "staging")
    assert "promoted to 'prod'" in run(
        "promote", release, "--from", "staging", "--to", "prod", "--yes"
    )
    assert f"release {release}" in run("history", "--env", "prod")


def test_the_plan_is_shown_before_the_question_and_a_no_changes_nothing(world: World) -> None:
    from typer.testing import CliRunner

    from ops_cli.cli.app import app
    from ops_cli.errors import NotConfirmedError

    release = world.release()
    args = ["promote", release, "--from", "staging", "--to", "prod", "-o", "json"]
    result = CliRunner().invoke(app, args, input="n\n")

    assert isinstance(result.exception, NotConfirmedError)
    question = f"Promote {release} from 'staging' to 'prod'?"
    plan = result.stderr[: result.stderr.index(question)]
    assert "Promotion plan" in plan and "version 1 (copied into the target's registry)" in plan
    assert f"{REPOSITORY}@sha256:aaaa" in plan and "mlflow, prefect-server, prefect-worker" in plan
    assert result.stdout == "", "the question and the plan go to stderr with -o json"
    assert world.clusters["prod"].applied == [] and world.registries["prod"].versions == {}
    assert world.audit() == [], "a declined promotion was never attempted"


def test_a_confirmed_promotion_prints_one_json_document(world: World) -> None:
    from typer.testing import CliRunner

    from ops_cli.cli.app import app

    release = world.release()
    args = ["promote", release, "--from", "staging", "--to", "prod", "-o", "json"]
    result = CliRunner().invoke(app, args, input="y\n", catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"] == "succeeded"
    assert "Promote " in result.stderr and "Promotion plan" in result.stderr
    assert world.registries["prod"].aliases["champion"]


def test_a_promotion_to_the_same_environment_is_refused_by_the_core(world: World) -> None:
    with pytest.raises(ConfigError, match="both 'staging'"):
        promote(world.staging, world.staging, None, environ={})
