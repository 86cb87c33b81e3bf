"""The deployment engine against FakeNomadCluster (a fake of the lifecycle, not Nomad).

Each test asserts what the engine decided and sent (the requests recorded by
the fake: the job it registered with EnforceIndex, promote, fail and revert
calls, and when), not the state or the text the fake itself produces.
"""

from __future__ import annotations

from pathlib import Path

import nomad_fixtures as fx
import pytest
from fake_nomad import FakeNomadCluster

from ops_cli.catalog import load_catalog
from ops_cli.config.loader import load_environment
from ops_cli.errors import OpsError, ServiceFailedError
from ops_cli.scheduler.base import WorkloadEvent
from ops_cli.scheduler.nomad.client import NomadConflictError
from ops_cli.scheduler.nomad.deploy import DeploymentEngine
from ops_cli.scheduler.nomad.render import render_job
from ops_cli.scheduler.plan import JobPlan

REPO = Path(__file__).resolve().parents[3]

DIGEST = "sha256:" + "5e" * 32
"""Every deploy pins an image digest; these tests deploy tags v1, v2 at this digest."""


class Clock:
    """Time that moves only when the engine sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def mlflow_job(tag: str, *, auto_promote: bool = True) -> dict:
    """The staging mlflow job (one canary, auto_promote, auto_revert) with image tag ``tag``."""
    config = load_environment("staging", REPO / "environments", environ=fx.APPLIED)
    job = render_job(config, load_catalog(), "mlflow", image_tag=f"{tag}@{DIGEST}")
    job["TaskGroups"][0]["Update"]["AutoPromote"] = auto_promote
    return job


def image(job: dict) -> str:
    return job["TaskGroups"][0]["Tasks"][0]["Config"]["image"]


def setup(
    fake: FakeNomadCluster, *, auto_promote: bool = True
) -> tuple[DeploymentEngine, list[WorkloadEvent], JobPlan]:
    fake.seed(mlflow_job("v1", auto_promote=auto_promote))
    clock = Clock()
    fake.clock = clock
    engine = DeploymentEngine(fake, poll_interval_s=2.0, clock=clock, sleep=clock.sleep)
    plan = JobPlan(
        job="mlflow",
        change="update",
        modify_index=fake.current("mlflow")["JobModifyIndex"],
        payload=mlflow_job("v2", auto_promote=auto_promote),
    )
    return engine, [], plan


def registered(fake: FakeNomadCluster) -> list[dict]:
    """What the engine sent to register, in order."""
    return [r.sent for r in fake.sent("register")]


def test_auto_promoted_canaries_are_left_to_nomad() -> None:
    """The shipped jobs set AutoPromote: Nomad promotes the healthy canary itself, and
    the engine registers exactly the planned job against the planned index and never
    sends a promotion (a promotion of its own would race Nomad's)."""
    fake = FakeNomadCluster(canaries="healthy")
    engine, events, plan = setup(fake)

    outcome = engine.apply(plan, events.append, timeout_s=600)

    assert registered(fake) == [
        {"job": plan.payload, "enforce_index": True, "job_modify_index": plan.modify_index}
    ]
    assert image(plan.payload).endswith(f":v2@{DIGEST}")
    assert fake.writes() == ["register"]  # no promote, no fail
    assert (outcome.status, outcome.version) == ("successful", 1)
    assert events[-1].phase == "healthy"


def test_canaries_without_auto_promote_are_promoted_once_and_only_when_healthy() -> None:
    fake = FakeNomadCluster(canaries="healthy")
    engine, events, plan = setup(fake, auto_promote=False)

    outcome = engine.apply(plan, events.append, timeout_s=600)

    (promotion,) = fake.sent("promote")
    assert promotion.sent == {"deployment_id": "dep-mlflow-v1"}
    # after a read of the deployment that showed the canary healthy, never blind
    # (the fake refuses a promotion of unhealthy canaries, as Nomad does)
    endpoints = [r.endpoint for r in fake.requests]
    assert "latest_deployment" in endpoints[: endpoints.index("promote")]
    assert fake.writes() == ["register", "promote"]
    assert outcome.status == "successful"
    assert any("canaries healthy; promoted" in e.detail for e in events)


def test_unhealthy_canaries_are_left_to_nomad_until_its_progress_deadline() -> None:
    """Nomad reschedules an unhealthy allocation until the progress deadline; opsctl
    neither promotes nor fails it, and reports Nomad's failure and its auto-revert."""
    fake = FakeNomadCluster(canaries="unhealthy")
    engine, events, plan = setup(fake)

    with pytest.raises(ServiceFailedError) as caught:
        engine.apply(plan, events.append, timeout_s=600)

    assert fake.writes() == ["register"]  # Nomad failed it, not opsctl
    message = str(caught.value)
    assert "deployment of 'mlflow' version 1 failed" in message
    assert "auto_revert is on, so Nomad reverts to the last stable version" in message
    assert events[-1].phase == "failed"


def test_a_deployment_nomad_fails_is_reported_with_nomads_reason() -> None:
    fake = FakeNomadCluster(canaries="stuck", progress_deadline_ticks=5)
    engine, events, plan = setup(fake)

    with pytest.raises(ServiceFailedError) as caught:
        engine.apply(plan, events.append, timeout_s=600)

    assert fake.writes() == ["register"]  # Nomad failed it, not us
    # the engine passes Nomad's own StatusDescription through to the user
    reason = fake.deployments["mlflow"]["StatusDescription"]
    assert reason in str(caught.value)


def test_our_own_timeout_fails_the_deployment_once_so_nomad_reverts() -> None:
    fake = FakeNomadCluster(canaries="stuck", progress_deadline_ticks=10_000)
    engine, events, plan = setup(fake)

    with pytest.raises(ServiceFailedError, match="not healthy within 60s") as caught:
        engine.apply(plan, events.append, timeout_s=60)

    (failure,) = fake.sent("fail")
    assert failure.sent == {"deployment_id": "dep-mlflow-v1"}
    assert 60 < failure.at <= 60 + engine.poll_interval_s  # at the deadline, not before
    assert fake.writes() == ["register", "fail"]
    # the engine reports the version Nomad's answer to the fail call named
    assert "Nomad is reverting to version 0" in str(caught.value)


def test_a_change_made_after_the_plan_is_refused_and_not_retried() -> None:
    fake = FakeNomadCluster()
    engine, events, plan = setup(fake)
    fake.someone_else_registers("mlflow")

    with pytest.raises(NomadConflictError, match="changed by someone else"):
        engine.apply(plan, events.append, timeout_s=600)

    # one registration, against the index the plan saw; nothing else written
    assert [r["job_modify_index"] for r in registered(fake)] == [plan.modify_index]
    assert fake.writes() == ["register"]


def test_a_plan_without_changes_registers_nothing() -> None:
    fake = FakeNomadCluster()
    engine, events, plan = setup(fake)
    unchanged = JobPlan("mlflow", "none", plan.modify_index, payload=plan.payload)

    outcome = engine.apply(unchanged, events.append, timeout_s=600)

    assert outcome.status == "unchanged"
    assert fake.requests == []


def test_rollback_reverts_to_the_previous_stable_version_if_the_job_has_not_moved() -> None:
    fake = FakeNomadCluster()
    engine, events, plan = setup(fake)
    engine.apply(plan, events.append, timeout_s=600)  # v1 (image v2), stable
    fake.seed(mlflow_job("v3-broken"), stable=False)  # v2, never became stable
    fake.requests.clear()

    rollback = engine.rollback_plan("mlflow")
    outcome = engine.rollback(rollback, events.append, timeout_s=600)

    assert (rollback.current_version, rollback.target_version) == (2, 1)
    assert rollback.target_image.endswith(f":v2@{DIGEST}")
    (revert,) = fake.sent("revert")
    assert revert.sent == {"job_id": "mlflow", "version": 1, "enforce_prior_version": 2}
    assert fake.writes() == ["revert"]
    assert outcome.status == "successful"


def test_rollback_refuses_when_the_job_moved_on_meanwhile() -> None:
    fake = FakeNomadCluster()
    engine, events, plan = setup(fake)
    engine.apply(plan, events.append, timeout_s=600)
    rollback = engine.rollback_plan("mlflow")
    fake.someone_else_registers("mlflow")
    fake.requests.clear()

    with pytest.raises(NomadConflictError, match="enforcing version 1"):
        engine.rollback(rollback, events.append, timeout_s=600)

    assert [r.sent["enforce_prior_version"] for r in fake.sent("revert")] == [1]
    assert fake.writes() == ["revert"]


def test_rollback_without_an_earlier_stable_version_says_so() -> None:
    fake = FakeNomadCluster()
    fake.seed(mlflow_job("v1"), stable=False)
    engine = DeploymentEngine(fake)

    with pytest.raises(OpsError, match="no stable version before version 0"):
        engine.rollback_plan("mlflow")

    assert fake.writes() == []
