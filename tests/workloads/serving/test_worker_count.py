"""How many worker processes the service starts when ``SERVING_WORKERS`` is not set:
the cores given to it, which under Nomad are not the host's."""

from __future__ import annotations

import os

import pytest

from workloads.serving.settings import ServingSettings


def _count(monkeypatch: pytest.MonkeyPatch, **environ: str) -> int:
    for name in ("NOMAD_ALLOC_ID", "NOMAD_CPU_CORES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return ServingSettings(auth_required=False).worker_count


def test_a_set_count_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOMAD_ALLOC_ID", "a1")
    assert ServingSettings(auth_required=False, workers=3).worker_count == 3


def test_on_a_machine_the_cores_it_may_run_on(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _count(monkeypatch) == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("cores", "expected"), [(None, 1), ("0-2,5", 4), ("3", 1), ("", 1), ("x", 1)]
)
def test_under_nomad_the_reserved_cores_or_one(
    monkeypatch: pytest.MonkeyPatch, cores: str | None, expected: int
) -> None:
    environ = {"NOMAD_ALLOC_ID": "a1"} | ({} if cores is None else {"NOMAD_CPU_CORES": cores})
    assert _count(monkeypatch, **environ) == expected
