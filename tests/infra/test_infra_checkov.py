"""checkov over terraform/, from its own virtual environment (tests/infra/checkov_env.py).

Without a Prisma Cloud API key checkov reports no severities, so the bar is
"no failed check at all": every exception is a ``#checkov:skip=CKV_...:reason``
comment in the code, and each must carry its reason. Run alone with
``pytest -m checkov``; CI runs it with the rest.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from checkov_env import ensure_checkov
from infra_support import TERRAFORM

pytestmark = pytest.mark.checkov

SKIP_COMMENT = re.compile(r"#checkov:skip=(CKV2?_[A-Z]+_\d+)(?::(.*))?")


@pytest.fixture(scope="session")
def checkov_report() -> list[dict]:
    executable = ensure_checkov()
    result = subprocess.run(
        [
            str(executable),
            "-d",
            str(TERRAFORM),
            "--framework",
            "terraform",
            "--compact",
            "--quiet",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.stdout.strip(), f"checkov printed nothing:\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


def test_no_failed_check(checkov_report: list[dict]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}) severity={c.get('severity')}"
        for part in checkov_report
        for c in part["results"].get("failed_checks", [])
    ]
    assert not failed, "checkov failures:\n" + "\n".join(failed)


def test_checkov_parsed_everything(checkov_report: list[dict]) -> None:
    for part in checkov_report:
        assert part["summary"]["parsing_errors"] == 0
        assert part["summary"]["passed"] > 100


def test_every_skip_in_code_gives_its_reason() -> None:
    skips = []
    for path in TERRAFORM.rglob("*.tf"):
        for match in SKIP_COMMENT.finditer(path.read_text(encoding="utf-8")):
            skips.append(
                (path.relative_to(TERRAFORM), match.group(1), (match.group(2) or "").strip())
            )
    assert skips, "expected the documented skips"
    without_reason = [f"{p}: {check}" for p, check, reason in skips if len(reason) < 20]
    assert not without_reason, f"skips without a reason: {without_reason}"
