"""A registry transfer points MLflow at its server only while it runs: afterwards an
MLflow client made without URIs resolves them exactly as before, never to MLflow's
default ``sqlite:///mlflow.db`` in the current folder."""

from __future__ import annotations

import os

import mlflow
import pytest

from ops_cli.release.registry import _tracking

NAMES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def test_unset_uris_are_unset_again_after_a_transfer(unset, monkeypatch) -> None:
    with _tracking("http://127.0.0.1:9"):
        assert mlflow.get_registry_uri() == "http://127.0.0.1:9"
    assert not any(name in os.environ for name in NAMES)
    # the next client follows whatever tracking server the process names later
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:7")
    assert mlflow.get_tracking_uri() == "http://127.0.0.1:7"
    assert mlflow.get_registry_uri() == "http://127.0.0.1:7"


def test_set_uris_come_back_after_a_transfer(unset) -> None:
    mlflow.set_tracking_uri("http://127.0.0.1:5")
    with _tracking("http://127.0.0.1:9"):
        assert mlflow.get_tracking_uri() == "http://127.0.0.1:9"
    assert mlflow.get_tracking_uri() == "http://127.0.0.1:5"
    assert os.environ["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5"
    assert mlflow.get_registry_uri() == "http://127.0.0.1:5"
