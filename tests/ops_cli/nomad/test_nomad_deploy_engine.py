"""The deployment engine against FakeNomadCluster (a fake of the lifecycle, not Nomad)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from fake_nomad import FakeNomadCluster

from ops_cli.catalog import load_catalog
from ops_cli.config.loader import load_environment
from ops_cli.errors import OpsError, ServiceFailedError
from ops_cli.scheduler.base import WorkloadEvent
from ops_cli.scheduler.nomad.client import NomadConflictError
from ops_cli.scheduler.nomad.deploy import DeploymentEngine
from ops_cli.scheduler.nomad.plan import JobPlan
from ops_cli.scheduler.nomad.render import render_job

REPO = Path(__file__).resolve().parents[3]


class Clock:
    """Time that moves only when the engine sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def mlflow_job(tag: str) -> dict:
    """The staging mlflow job (one canary, auto_revert) with image tag ``tag``."""
    config = load_environment("staging", REPO / "environments", environ={})
    return render_job(config, load_catalog(), "mlflow", image_tag=tag)


def image(job: dict) -> str:
    return job["TaskGroups"][0]["Tasks"][0]["Config"]["image"]


def setup(fake: FakeNomadCluster) -> tuple[DeploymentEngine, list[WorkloadEvent], JobPlan]:
    fake.seed(mlflow_job("v1"))
    clock = Clock()
    engine = DeploymentEngine(fake, poll_interval_s=2.0, clock=clock, sleep=clock.sleep)
    plan = JobPlan(
        job="mlflow",
        change="update",
        modify_index=fake.current("mlflow")["JobModifyIndex"],
        payload=mlflow_job("v2"),
    )
    return engine, [], plan


def test_healthy_canaries_are_promoted_and_the_version_becomes_current() -> None:
    fake = FakeNomadCluster(canaries="healthy")
    engine, events, plan = setup(fake)

    outcome = engine.apply(plan, events.append, timeout_s=600)

    assert outcome.status == "successful"
    assert outcome.version == 1
    assert fake.promoted == ["dep-mlflow-v1"]
    assert image(fake.current("mlflow")).endswith(":v2")
    assert fake.current("mlflow")["Stable"] is True
    assert any("promoted" in e.detail for e in events)
    assert events[-1].phase == "healthy"


def test_unhealthy_canaries_fail_the_deployment_and_nomad_reverts() -> None:
    fake = FakeNomadCluster(canaries="unhealthy")
    engine, events, plan = setup(fake)

    with pytest.raises(ServiceFailedError) as caught:
        engine.apply(plan, events.append, timeout_s=600)

    message = str(caught.value)
    assert "unhealthy allocations" in message
    assert "reverting to version 0" in message
    assert fake.failed == ["dep-mlflow-v1"]
    assert fake.promoted == []
    assert image(fake.current("mlflow")).endswith(":v1")  # the old image runs again
    assert events[-1].phase == "failed"


def test_a_passed_progress_deadline_fails_and_reverts() -> None:
    fake = FakeNomadCluster(canaries="stuck", progress_deadline_ticks=5)
    engine, events, plan = setup(fake)

    with pytest.raises(
        ServiceFailedError, match="progress deadline - rolling back to job version 0"
    ):
        engine.apply(plan, events.append, timeout_s=600)

    assert fake.failed == []  # Nomad failed it, not us
    assert image(fake.current("mlflow")).endswith(":v1")


def test_our_own_timeout_fails_the_deployment_so_nomad_reverts() -> None:
    fake = FakeNomadCluster(canaries="stuck", progress_deadline_ticks=10_000)
    engine, events, plan = setup(fake)

    with pytest.raises(ServiceFailedError, match="not healthy within 60s") as caught:
        engine.apply(plan, events.append, timeout_s=60)

    assert "Nomad is reverting to version 0" in str(caught.value)
    assert fake.failed == ["dep-mlflow-v1"]
    assert image(fake.current("mlflow")).endswith(":v1")


def test_a_change_made_after_the_plan_is_refused_and_nothing_is_written() -> None:
    fake = FakeNomadCluster()
    engine, events, plan = setup(fake)
    fake.someone_else_registers("mlflow")
    before = copy.deepcopy(fake.versions_of["mlflow"])

    with pytest.raises(NomadConflictError, match="changed by someone else"):
        engine.apply(plan, events.append, timeout_s=600)

    assert fake.versions_of["mlflow"] == before


def test_a_plan_without_changes_registers_nothing() -> None:
    fake = FakeNomadCluster()
    engine, events, plan = setup(fake)
    unchanged = JobPlan("mlflow", "none", plan.modify_index, payload=plan.payload)

    outcome = engine.apply(unchanged, events.append, timeout_s=600)

    assert outcome.status == "unchanged"
    assert len(fake.versions_of["mlflow"]) == 1


def test_rollback_returns_to_the_previous_stable_version() -> None:
    fake = FakeNomadCluster()
    engine, events, plan = setup(fake)
    engine.apply(plan, events.append, timeout_s=600)  # v1 (image v2), stable
    fake.seed(mlflow_job("v3-broken"), stable=False)  # v2, never became stable

    rollback = engine.rollback_plan("mlflow")
    outcome = engine.rollback(rollback, events.append, timeout_s=600)

    assert (rollback.current_version, rollback.target_version) == (2, 1)
    assert rollback.target_image.endswith(":v2")
    assert outcome.status == "successful"
    assert image(fake.current("mlflow")).endswith(":v2")


def test_rollback_refuses_when_the_job_moved_on_meanwhile() -> None:
    fake = FakeNomadCluster()
    engine, events, plan = setup(fake)
    engine.apply(plan, events.append, timeout_s=600)
    rollback = engine.rollback_plan("mlflow")
    fake.someone_else_registers("mlflow")

    with pytest.raises(NomadConflictError, match="enforcing version 1"):
        engine.rollback(rollback, events.append, timeout_s=600)


def test_rollback_without_an_earlier_stable_version_says_so() -> None:
    fake = FakeNomadCluster()
    fake.seed(mlflow_job("v1"), stable=False)
    engine = DeploymentEngine(fake)

    with pytest.raises(OpsError, match="no stable version before version 0"):
        engine.rollback_plan("mlflow")
