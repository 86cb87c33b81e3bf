"""A service waiting for its champion says so once per change of state in its log
(no champion yet, champion found, lost, found again), and at every moment on /ready."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.workloads.serving.conftest import MemorySource
from workloads.serving.app import create_app
from workloads.serving.model import ModelHolder, Refresher
from workloads.serving.settings import ServingSettings


class AliasNotFound(Exception):
    """What the registry answers for an alias no version carries."""


@dataclass
class AliasSource(MemorySource):
    """``alias_version`` None: the alias points nowhere (no champion)."""

    def resolve(self) -> str:
        if self.alias_version is None:
            raise AliasNotFound(f"Registered model alias {self.alias} not found.")
        return self.alias_version


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]


def test_each_state_is_logged_once_not_at_every_check(
    source: MemorySource, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="workloads.serving.model")
    flaky = AliasSource(source.versions, alias_version=None)  # type: ignore[arg-type]
    refresher = Refresher(flaky, ModelHolder(), refresh_s=2.0)
    steps = [(None, 5), ("1", 3), (None, 4), ("1", 2), ("2", 2), ("7", 3)]
    for version, checks in steps:
        flaky.alias_version = version
        for _ in range(checks):
            refresher.check()
    lines = _lines(caplog)
    assert len(lines) == 6, lines
    assert lines[0].startswith("no champion yet: crm-win-probability@champion")
    assert "no model served" in lines[0] and "/ready" in lines[0]
    assert lines[1].startswith("serving crm-win-probability version 1")
    assert "cannot be resolved" in lines[2] and "still serving version 1" in lines[2]
    assert lines[3] == "crm-win-probability@champion resolves again: serving version 1"
    assert lines[4].startswith("serving crm-win-probability version 2")
    assert lines[5].startswith("version 7 of crm-win-probability@champion cannot be loaded")
    assert "still serving version 2" in lines[5]
    assert refresher.problem == lines[5].split(" (said once")[0]
    flaky.alias_version = "2"
    refresher.check()
    assert refresher.problem is None


def test_ready_says_why_no_model_serves(source: MemorySource) -> None:
    waiting = AliasSource(source.versions, alias_version=None)  # type: ignore[arg-type]
    with TestClient(create_app(ServingSettings(auth_required=False), waiting)) as client:
        answer = client.get("/ready")
        for _ in range(100):  # the first check runs in the refresher's thread
            if answer.json()["problem"]:
                break
            time.sleep(0.05)
            answer = client.get("/ready")
        assert answer.status_code == 503
        assert answer.json()["status"] == "loading"
        assert "no champion yet: crm-win-probability@champion" in answer.json()["problem"]
        assert "alias champion not found" in answer.json()["problem"]
