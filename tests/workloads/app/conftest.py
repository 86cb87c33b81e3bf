"""App tests: pages rendered by streamlit's AppTest against stub services, or none."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import free_port_base
from tests.workloads.app.stubs import serve_stub

DOWN = "http://127.0.0.1:9"  # the discard port: nothing answers there


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return "127.0.0.1", free_port_base(start=26100, size=1)


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No service known by default; opsctl replaced by a script printing no status."""
    for name in ("CRM_SERVING_URL", "MLFLOW_TRACKING_URI", "CRM_DATA_URL", "CRM_MONITORING_URL"):
        monkeypatch.delenv(name, raising=False)
    status = tmp_path / "status.json"
    script = tmp_path / "opsctl_stub.py"
    script.write_text(
        "import pathlib, sys\n"
        f"p = pathlib.Path({str(status)!r})\n"
        "print(p.read_text() if p.exists() else '')\n"
        "sys.exit(0 if p.exists() else 2)\n"
    )
    monkeypatch.setenv("CRM_OPSCTL", f"{sys.executable} {script}")
    return status


def write_status(status_file: Path, services: list[dict]) -> None:
    status_file.write_text(json.dumps({"environment": "local", "services": services}))


@pytest.fixture
def serving_stub(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, app_env: Path) -> str:
    url = serve_stub(httpserver)
    monkeypatch.setenv("CRM_SERVING_URL", url)
    return url
