"""The provisioning flow against a fake provisioner, and each clear error message.

``FakeProvisioner`` is a fake: it records calls and returns canned plans and
outputs; no Terraform, Pulumi or AWS is involved.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from infra_support import REPO, TEST_CERTIFICATE

from ops_cli.environment import Environment, open_environment
from ops_cli.errors import ConfigError, OpsError
from ops_cli.provision import flow, preflight
from ops_cli.provision.base import DriftReport, InfraPlan, Outputs, Provisioner, no_progress
from ops_cli.provision.runner import RunResult, TerraformRunner
from ops_cli.provision.terraform import TerraformProvisioner
from ops_cli.provision.tfvars import infra_variables

OUTPUTS = Outputs(
    {
        "nomad_addr": "http://control:4646",
        "consul_addr": "http://control:8500",
        "bucket_names": {"data": "crm-staging-data"},
        "database_endpoint": "db:5432",
        "alb_dns_name": "alb.example",
    }
)


class FakeProvisioner(Provisioner):
    """A fake provisioner: canned plan and outputs, every call recorded."""

    name = "fake"

    def __init__(self, plan: InfraPlan) -> None:
        self._plan = plan
        self.calls: list[str] = []

    def plan(self, progress=no_progress) -> InfraPlan:
        self.calls.append("plan")
        progress("planning")
        return self._plan

    def apply(self, plan: InfraPlan, progress=no_progress) -> Outputs:
        self.calls.append("apply")
        return OUTPUTS

    def destroy(self, progress=no_progress) -> None:
        self.calls.append("destroy")

    def outputs(self) -> Outputs:
        self.calls.append("outputs")
        return OUTPUTS

    def drift(self, progress=no_progress) -> DriftReport:
        self.calls.append("drift")
        return DriftReport(self._plan.environment)


@pytest.fixture
def environments(tmp_path: Path) -> Path:
    target = tmp_path / "environments"
    shutil.copytree(REPO / "environments", target)
    return target


def open_env(name: str, environments: Path, tmp_path: Path) -> Environment:
    environ = {
        "OPSCTL_AWS__CERTIFICATE_ARN": TEST_CERTIFICATE,
        "OPSCTL_STATE_DIR": str(tmp_path / "state" / name),
    }
    return open_environment(name, environments_dir=environments, environ=environ)


def changing_plan(env: str = "staging") -> InfraPlan:
    return InfraPlan(env, adds=3, changes=1, destroys=0)


def test_plan_is_shown_and_applied_when_confirmed(environments: Path, tmp_path: Path) -> None:
    env = open_env("staging", environments, tmp_path)
    fake, shown, deployed = FakeProvisioner(changing_plan()), [], []
    report = flow.provision_then(
        env, lambda plan: shown.append(plan) or True, deployed.append, provisioner=fake
    )
    assert shown == [changing_plan()]
    assert fake.calls == ["plan", "apply"]
    assert report.applied and deployed == [OUTPUTS]
    assert flow.stored_outputs(env) == OUTPUTS
    assert (env.paths.root / "infra" / "outputs.json").stat().st_mode & 0o777 == 0o600


def test_declined_plan_applies_nothing_and_deploys_nothing(
    environments: Path, tmp_path: Path
) -> None:
    env = open_env("staging", environments, tmp_path)
    fake, deployed = FakeProvisioner(changing_plan()), []
    report = flow.provision_then(env, lambda _plan: False, deployed.append, provisioner=fake)
    assert fake.calls == ["plan"]
    assert not report.applied and report.outputs is None
    assert deployed == [] and flow.stored_outputs(env) is None


def test_nothing_to_change_skips_the_question_and_still_deploys(
    environments: Path, tmp_path: Path
) -> None:
    env = open_env("staging", environments, tmp_path)
    fake, deployed = FakeProvisioner(InfraPlan("staging", 0, 0, 0)), []
    flow.provision_then(
        env, lambda _p: pytest.fail("nothing to confirm"), deployed.append, provisioner=fake
    )
    assert fake.calls == ["plan", "outputs"] and deployed == [OUTPUTS]


def test_staging_destroy_needs_two_yes(environments: Path, tmp_path: Path) -> None:
    env = open_env("staging", environments, tmp_path)
    fake, asked = FakeProvisioner(changing_plan()), []
    answers = iter([True, False])
    assert not flow.destroy(env, lambda q: asked.append(q) or next(answers), provisioner=fake)
    assert len(asked) == 2 and "destroy" not in fake.calls
    assert flow.destroy(env, lambda _q: True, provisioner=fake)
    assert fake.calls == ["destroy"]


def test_prod_destroy_is_refused_unless_allowed(environments: Path, tmp_path: Path) -> None:
    env = open_env("prod", environments, tmp_path)
    fake = FakeProvisioner(changing_plan("prod"))
    with pytest.raises(ConfigError, match="refusing to destroy 'prod'"):
        flow.destroy(env, lambda _q: True, provisioner=fake)
    assert fake.calls == []
    assert flow.destroy(env, lambda _q: True, allow_prod_destroy=True, provisioner=fake)


def test_missing_certificate_names_the_key(environments: Path, tmp_path: Path) -> None:
    env = open_environment(
        "staging", environments_dir=environments, environ={"OPSCTL_STATE_DIR": str(tmp_path)}
    )
    with pytest.raises(ConfigError, match=r"'aws\.certificate_arn'.*OPSCTL_AWS__CERTIFICATE_ARN"):
        infra_variables(env.config)


def test_missing_credentials_say_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(OpsError, match="no AWS credentials found") as caught:
        preflight.aws_session("eu-west-1")
    assert "AWS_PROFILE" in (caught.value.hint or "")


class FakeSession:
    """A fake boto3 session whose S3 head_bucket raises ``error``."""

    def __init__(self, error: ClientError | None) -> None:
        self.error = error

    def client(self, _service: str) -> FakeSession:
        return self

    def head_bucket(self, Bucket: str) -> None:
        if self.error:
            raise self.error


def test_missing_state_bucket_points_to_bootstrap() -> None:
    backend = preflight.StateBackend(
        "opsctl-state-x", "locks", "eu-west-1", "terraform/staging.tfstate"
    )
    missing = ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadBucket")
    with pytest.raises(OpsError, match="state bucket 'opsctl-state-x' does not exist") as caught:
        preflight.require_state_bucket(FakeSession(missing), backend, "staging")
    assert "opsctl infra bootstrap --env staging" in (caught.value.hint or "")
    preflight.require_state_bucket(FakeSession(None), backend, "staging")


class FakeRunner(TerraformRunner):
    """A fake Terraform runner answering every command with ``result``."""

    description = "fake"

    def __init__(self, result: RunResult) -> None:
        self.result = result
        self.commands: list[list[str]] = []

    def run(self, args, root, progress=no_progress) -> RunResult:
        self.commands.append(list(args))
        return self.result


def terraform_with(result: RunResult, tmp_path: Path) -> tuple[TerraformProvisioner, FakeRunner]:
    runner = FakeRunner(result)
    provisioner = TerraformProvisioner(
        environment="staging",
        root=tmp_path,
        workdir=tmp_path / "work",
        variables={"environment": "staging"},
        backend_config={"bucket": "b", "key": "k"},
        runner=runner,
    )
    return provisioner, runner


def test_missing_provider_is_one_clear_message_with_terraform_text(tmp_path: Path) -> None:
    text = "Error: Failed to query available provider packages\n\nCould not retrieve hashicorp/aws"
    provisioner, runner = terraform_with(RunResult(1, "", text), tmp_path)
    with pytest.raises(OpsError, match="could not install the AWS provider") as caught:
        provisioner.plan()
    assert "Could not retrieve hashicorp/aws" in str(caught.value)
    assert "provider_installation" in (caught.value.hint or "")
    assert runner.commands[0][:1] == ["init"]
    assert "-backend-config=bucket=b" in runner.commands[0]


def test_terraform_errors_keep_terraform_text(tmp_path: Path) -> None:
    provisioner, runner = terraform_with(RunResult(0, "", ""), tmp_path)
    provisioner._initialized = True
    runner.result = RunResult(1, "", "Error: Invalid value for variable certificate_arn")
    with pytest.raises(OpsError, match="Invalid value for variable certificate_arn"):
        provisioner.plan()


def test_terraform_plan_counts_like_terraform(tmp_path: Path) -> None:
    shown = (
        '{"resource_changes": ['
        '{"address": "a", "type": "aws_vpc", "change": {"actions": ["create"]}},'
        '{"address": "b", "type": "aws_lb", "change": {"actions": ["delete", "create"]}},'
        '{"address": "c", "type": "aws_s3_bucket", "change": {"actions": ["update"]}},'
        '{"address": "d", "type": "aws_subnet", "change": {"actions": ["no-op"]}}]}'
    )
    provisioner, _runner = terraform_with(RunResult(0, shown, ""), tmp_path)
    plan = provisioner.plan()
    assert (plan.adds, plan.changes, plan.destroys) == (2, 1, 1)
    assert plan.summary() == "2 to add, 1 to change, 1 to destroy"
    assert (tmp_path / "work" / "terraform.tfvars.json").exists()
