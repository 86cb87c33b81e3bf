"""The production rules (``ops_cli/config/cloud.py`` ``ProductionRules``) as an operator
meets them: ``opsctl plan --env prod`` (and every command that loads the environment)
refuses a prod config that breaks one, exit 2, naming the key and the file or
variable that set it, before any infrastructure or cluster is asked anything."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_opsctl


def opsctl(
    *args: str, env_dir: Path, home: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_opsctl(*args, home=home, environments=env_dir, env=extra_env)


KEY = {"OPSCTL_SECRET_SERVING_API_KEY": "test-api-key-0123456789"}
"""The prediction service's API key ``config show`` needs where auth is required."""


def edit_prod(env_dir: Path, old: str, new: str) -> None:
    path = env_dir / "prod.yaml"
    text = path.read_text()
    assert re.search(old, text, flags=re.MULTILINE), old
    path.write_text(re.sub(old, new, text, flags=re.MULTILINE))


# (key, the line of prod.yaml replaced, its replacement, the rule's words)
BROKEN_IN_THE_FILE = [
    (
        "aws.availability_zones",
        r"^  availability_zones: .*$",
        "  availability_zones: [eu-west-1a, eu-west-1b]",
        "3 zones",
    ),
    ("aws.multi_az", r"^  multi_az: true$", "  multi_az: false", "multi-AZ"),
    (
        "aws.deletion_protection",
        r"^  deletion_protection: true$",
        "  deletion_protection: false",
        "deletion protection",
    ),
    ("aws.server_count", r"^  server_count: 3$", "  server_count: 1", "3 or 5 servers"),
    ("aws.server_count", r"^  server_count: 3$", "  server_count: 7", "3 or 5 servers"),
    (
        "aws.app_auth.provider",
        r"^  production: true$",
        "  production: true\n  app_auth:\n    provider: none",
        "authentication",
    ),
]


@pytest.mark.parametrize(("key", "old", "new", "words"), BROKEN_IN_THE_FILE)
def test_plan_refuses_a_prod_file_breaking_a_rule_naming_the_key_and_file(
    environments_dir: Path, tmp_path: Path, key: str, old: str, new: str, words: str
) -> None:
    edit_prod(environments_dir, old, new)
    result = opsctl("plan", "--env", "prod", env_dir=environments_dir, home=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    line = next(line for line in result.stderr.splitlines() if f"{key}:" in line)
    assert line.strip().startswith(f"{environments_dir / 'prod.yaml'}: {key}: production rule")
    assert words in line
    assert result.stderr.count("production rule broken") == 1
    # refused at load: no Terraform workspace or plan was started
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").rglob("*.tfvars*"))


def test_the_shipped_prod_config_obeys_every_rule(environments_dir: Path, tmp_path: Path) -> None:
    result = opsctl(
        "config", "show", "--env", "prod", env_dir=environments_dir, home=tmp_path, extra_env=KEY
    )
    assert result.returncode == 0, result.stderr


def test_each_broken_rule_names_the_variable_or_file_that_broke_it(
    environments_dir: Path, tmp_path: Path
) -> None:
    edit_prod(environments_dir, r"^  deletion_protection: true$", "  deletion_protection: false")
    result = opsctl(
        "plan",
        "--env",
        "prod",
        env_dir=environments_dir,
        home=tmp_path,
        extra_env={"OPSCTL_AWS__MULTI_AZ": "false", "OPSCTL_AWS__SERVER_COUNT": "1"},
    )
    assert result.returncode == 2
    lines = [line.strip() for line in result.stderr.splitlines() if "production rule" in line]
    assert sorted(lines) == sorted(
        [
            f"{environments_dir / 'prod.yaml'}: aws.deletion_protection: production rule broken: "
            "production keeps deletion protection on (true)",
            "OPSCTL_AWS__MULTI_AZ: aws.multi_az: production rule broken: "
            "production runs its database multi-AZ (true)",
            "OPSCTL_AWS__SERVER_COUNT: aws.server_count: production rule broken: "
            "production runs 3 or 5 servers",
        ]
    )


def test_the_refusal_is_a_json_error_document_for_scripts(
    environments_dir: Path, tmp_path: Path
) -> None:
    result = opsctl(
        "plan",
        "--env",
        "prod",
        "--output",
        "json",
        env_dir=environments_dir,
        home=tmp_path,
        extra_env={"OPSCTL_AWS__AVAILABILITY_ZONES": "[eu-west-1a]"},
    )
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["exit_code"] == 2
    assert (
        "OPSCTL_AWS__AVAILABILITY_ZONES: aws.availability_zones: production rule broken"
        in (document["error"])
    )


def test_a_certificate_that_is_not_an_acm_arn_is_refused_naming_the_variable(
    environments_dir: Path, tmp_path: Path
) -> None:
    result = opsctl(
        "plan",
        "--env",
        "prod",
        env_dir=environments_dir,
        home=tmp_path,
        extra_env={"OPSCTL_AWS__CERTIFICATE_ARN": "my-certificate"},
    )
    assert result.returncode == 2
    assert "OPSCTL_AWS__CERTIFICATE_ARN: aws.certificate_arn:" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_rules_bind_production_only(environments_dir: Path, tmp_path: Path) -> None:
    """Staging may run two zones, one database instance and no deletion protection."""
    result = opsctl(
        "config",
        "show",
        "--env",
        "staging",
        env_dir=environments_dir,
        home=tmp_path,
        extra_env=KEY,
    )
    assert result.returncode == 0, result.stderr
    assert "production rule" not in result.stderr
