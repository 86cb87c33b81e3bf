"""``up`` and ``down`` of a provisioned environment, with a fake provisioner and a
fake scheduler (both named fakes: no Terraform, AWS or Nomad is involved)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_cli import operations
from ops_cli.environment import Environment, open_environment
from ops_cli.errors import ConfigError, OpsError
from ops_cli.provision import factory, flow
from ops_cli.provision.base import DriftReport, InfraPlan, Outputs, Provisioner, no_progress
from ops_cli.scheduler.base import ApplyResult, Health, Scheduler, WorkloadStatus

OUTPUTS = Outputs({"nomad_addr": "http://10.0.0.5:4646", "consul_addr": "http://10.0.0.5:8500"})
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/test"


class FakeProvisioner(Provisioner):
    """A fake: a canned plan and outputs, calls recorded."""

    name = "fake"

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def plan(self, progress=no_progress) -> InfraPlan:
        self.calls.append("infra-plan")
        return InfraPlan("staging", adds=3, changes=0, destroys=0)

    def apply(self, plan, progress=no_progress) -> Outputs:
        self.calls.append("infra-apply")
        return OUTPUTS

    def destroy(self, progress=no_progress) -> None:
        self.calls.append("infra-destroy")

    def outputs(self) -> Outputs:
        return OUTPUTS

    def drift(self, progress=no_progress) -> DriftReport:
        return DriftReport("staging")


class FakeScheduler(Scheduler):
    """A fake cluster scheduler that records what it was asked, and the Nomad address."""

    def __init__(self, calls: list[str], nomad_addr: str | None) -> None:
        self.calls = calls
        self.nomad_addr = nomad_addr

    def up(self, progress) -> ApplyResult:
        self.calls.append(f"deploy@{self.nomad_addr}")
        return ApplyResult(started=["mlflow"])

    def status(self) -> list[WorkloadStatus]:
        return [WorkloadStatus("mlflow", Health.HEALTHY)]

    def restart(self, name, progress) -> None: ...

    def down(self) -> list[str]:
        self.calls.append("jobs-stop")
        return ["mlflow"]

    def logs(self, name, *, lines, follow):
        return iter(())


@pytest.fixture
def staging(environments_dir: Path, tmp_path: Path, monkeypatch) -> tuple[Environment, list[str]]:
    calls: list[str] = []
    env = open_environment(
        "staging",
        environments_dir=environments_dir,
        environ={
            "OPSCTL_STATE_DIR": str(tmp_path / "state"),
            "OPSCTL_AWS__CERTIFICATE_ARN": CERT,
            "OPSCTL_SECRET_SERVING_API_KEY": "serving-key-from-ci",
        },
    )
    monkeypatch.setattr(factory, "provisioner_for", lambda _env: FakeProvisioner(calls))
    monkeypatch.delenv("NOMAD_ADDR", raising=False)
    monkeypatch.setattr(
        Environment,
        "scheduler",
        lambda self, inspect_only=False: FakeScheduler(
            calls, self.cluster_environ().get("NOMAD_ADDR")
        ),
    )
    return env, calls


def test_up_applies_infrastructure_then_deploys_to_the_cluster_it_created(staging) -> None:
    env, calls = staging
    seen_plans = []
    report = operations.up_cloud(
        env,
        lambda _event: None,
        confirm_infra=lambda plan: seen_plans.append(plan) or True,
        confirm_workloads=None,
        infra_progress=no_progress,
    )
    assert seen_plans[0].adds == 3
    assert calls == ["infra-plan", "infra-apply", "deploy@http://10.0.0.5:4646"]
    assert report.workloads is not None
    assert report.workloads.result.started == ["mlflow"]
    assert flow.stored_outputs(env).nomad_addr == "http://10.0.0.5:4646"


def test_declined_infrastructure_plan_applies_and_deploys_nothing(staging) -> None:
    env, calls = staging
    report = operations.up_cloud(
        env,
        lambda _event: None,
        confirm_infra=lambda _plan: False,
        confirm_workloads=None,
        infra_progress=no_progress,
    )
    assert report.workloads is None
    assert calls == ["infra-plan"]


def test_nomad_addr_variable_wins_over_the_stored_outputs(staging, monkeypatch) -> None:
    env, _calls = staging
    flow.store_outputs(env, OUTPUTS)
    monkeypatch.setenv("NOMAD_ADDR", "http://operator-tunnel:4646")
    assert env.cluster_environ()["NOMAD_ADDR"] == "http://operator-tunnel:4646"


def test_down_stops_jobs_then_destroys_after_two_yes(staging) -> None:
    env, calls = staging
    flow.store_outputs(env, OUTPUTS)
    questions: list[str] = []
    report = operations.down_cloud(
        env,
        confirm=lambda q: questions.append(q) or True,
        allow_prod_destroy=False,
        infra_progress=no_progress,
    )
    assert len(questions) == 2
    assert calls == ["jobs-stop", "infra-destroy"]
    assert report.purged


def test_down_declined_at_the_second_question_destroys_nothing(staging) -> None:
    env, calls = staging
    answers = iter([True, False])
    report = operations.down_cloud(
        env, confirm=lambda _q: next(answers), allow_prod_destroy=False, infra_progress=no_progress
    )
    assert not report.purged
    assert calls == []


def test_prod_destroy_is_refused_without_the_flag(environments_dir, tmp_path, monkeypatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(factory, "provisioner_for", lambda _env: FakeProvisioner(calls))
    env = open_environment(
        "prod",
        environments_dir=environments_dir,
        environ={"OPSCTL_STATE_DIR": str(tmp_path / "p"), "OPSCTL_AWS__CERTIFICATE_ARN": CERT},
    )
    with pytest.raises(ConfigError, match="refusing to destroy 'prod'"):
        operations.down_cloud(
            env, confirm=lambda _q: True, allow_prod_destroy=False, infra_progress=no_progress
        )
    assert calls == []


def test_unconfirmed_workload_plan_deploys_nothing(staging, monkeypatch) -> None:
    env, calls = staging

    class PlanningScheduler(FakeScheduler):
        def plan(self, workloads=None):
            class Change:
                has_changes = True

            return [Change()]

    monkeypatch.setattr(
        Environment, "scheduler", lambda self, inspect_only=False: PlanningScheduler(calls, None)
    )
    with pytest.raises(OpsError, match="not confirmed"):
        operations.up(env, lambda _e: None, confirm_workloads=lambda _plans: False)
    assert calls == []


def test_up_of_a_provisioned_environment_raises_when_its_plan_is_declined(staging) -> None:
    from ops_cli.errors import NotConfirmedError

    env, calls = staging
    with pytest.raises(NotConfirmedError, match="infrastructure plan was declined"):
        operations.up_environment(
            env,
            lambda _event: None,
            confirm_infra=lambda _plan: False,
            confirm_workloads=None,
            infra_progress=no_progress,
        )
    assert calls == ["infra-plan"]


def test_planning_a_cluster_still_to_create_asks_no_cluster(staging) -> None:
    from ops_cli import planning

    env, calls = staging
    shown: list[InfraPlan] = []
    report = planning.plan(env, show_infra=shown.append)
    assert shown and shown[0].adds == 3
    assert report.jobs is None and report.changed
    assert calls == ["infra-plan"]


def test_down_of_a_provisioned_environment_declined_raises_and_destroys_nothing(staging) -> None:
    from ops_cli.errors import NotConfirmedError

    env, calls = staging
    flow.store_outputs(env, OUTPUTS)
    with pytest.raises(NotConfirmedError, match="nothing was destroyed"):
        operations.down_environment(
            env,
            purge=False,
            allow_prod_destroy=False,
            confirm=lambda _q: False,
            infra_progress=no_progress,
        )
    assert calls == []
