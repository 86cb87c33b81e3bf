"""Every rendered job (the golden files of staging and prod) against Nomad's field
names, types and validation rules (:mod:`nomad_conformance`), so a change Nomad
would refuse fails here before any cluster sees it."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from nomad_conformance import violations

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "nomad"
JOBS = sorted(GOLDEN.glob("*/*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", JOBS, ids=[f"{p.parent.name}/{p.stem}" for p in JOBS])
def test_rendered_job_obeys_nomads_rules(path: Path) -> None:
    assert violations(load(path)) == []


def test_every_environment_has_jobs() -> None:
    assert {p.parent.name for p in JOBS} == {"staging", "prod"}


def mutated(change) -> list[str]:
    job = copy.deepcopy(load(GOLDEN / "staging" / "serving.json"))
    change(job)
    return violations(job)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda j: j["TaskGroups"][0]["Update"].update(Canary=0), "AutoPromote needs Canary"),
        (
            lambda j: j["TaskGroups"][0]["Update"].update(HealthyDeadline=900 * 10**9),
            "below ProgressDeadline",
        ),
        (
            lambda j: j["TaskGroups"][0]["Services"][0]["Checks"][0].update(Interval=500_000_000),
            "at least 1s",
        ),
        (lambda j: j["TaskGroups"][0]["Services"][0].update(Name="serving_api"), "RFC 1123"),
        (lambda j: j["TaskGroups"][0]["Tasks"][-1]["Config"].update(image="repo:latest"), "digest"),
        (lambda j: j["TaskGroups"][0]["Tasks"][-1].update(KillTimeout="30s"), "Nomad wants"),
        (lambda j: j["TaskGroups"][0]["Tasks"][-1].update(Kill_Timeout=1), "no field"),
        (
            lambda j: j.update(Constraints=[{"LTarget": "a", "Operand": "~", "RTarget": "b"}]),
            "Operand",
        ),
    ],
)
def test_a_change_nomad_would_refuse_is_caught(change, rule: str) -> None:
    assert any(rule in problem for problem in mutated(change))


def test_a_task_asks_for_cpu_or_cores_not_both() -> None:
    def both(job: dict[str, Any]) -> None:
        job["TaskGroups"][0]["Tasks"][-1]["Resources"] = {"CPU": 500, "Cores": 2}

    assert any("cpu or cores, not both" in v for v in mutated(both))
