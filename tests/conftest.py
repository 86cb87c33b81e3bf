"""Shared fixtures: a private copy of the environments folder, free loopback ports,
and ``--update-golden`` (rewrite golden files instead of comparing with them)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden files under tests/golden from what the code renders now "
        "(commit them with the change that made them differ)",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite golden files (``--update-golden``)."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def environments_dir(tmp_path: Path) -> Path:
    """A writable copy of the project's environments/ folder."""
    target = tmp_path / "environments"
    shutil.copytree(REPO / "environments", target)
    return target


def _block_is_free(base: int, size: int) -> bool:
    for port in range(base, base + size):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port_base(start: int = 20000, size: int = 100) -> int:
    """The first block of ``size`` free loopback ports from ``start`` on."""
    for base in range(start, 60000, size):
        if _block_is_free(base, size):
            return base
    raise RuntimeError("no free block of loopback ports")


@pytest.fixture(autouse=True)
def _restore_mlflow_uris():
    """``mlflow.set_tracking_uri``/``set_registry_uri`` change process-wide defaults
    *and* export ``MLFLOW_TRACKING_URI``/``MLFLOW_REGISTRY_URI``; put all of them back
    after every test so none leaks into the next."""
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    before = {name: os.environ.get(name) for name in names}
    yield
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):
    """A real MLflow tracking server on loopback (SQLite store, artifacts proxied to a
    local folder), started once per session; yields its URL."""
    import subprocess
    import time

    import httpx

    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port_base(start=26500, size=1)
    command = [
        str(Path(sys.executable).parent / "mlflow"), "server",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "artifacts"),
    ]  # fmt: skip
    log = (root / "server.log").open("w")
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}  # nothing leaves loopback
    process = subprocess.Popen(command, stdout=log, stderr=log, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (root / "server.log").read_text()[-2000:]
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "MLflow server not healthy after 180 s"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, 15)  # the server and its uvicorn worker, nothing else
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: its job consumers may lag
            os.killpg(process.pid, 9)
            process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):  # what outlived the server itself
            os.killpg(process.pid, 9)
        log.close()


BASE_ONLY_SECTIONS = ("registry", "pipeline", "monitoring")
"""Config sections whose defaults live in ``environments/base.yaml`` alone."""


def environment_config(data: dict):
    """An ``EnvironmentConfig`` from ``data`` on top of base.yaml's default-less sections,
    for tests that build a config by hand instead of through the loader."""
    import yaml

    from ops_cli.config.loader import deep_merge
    from ops_cli.config.models import EnvironmentConfig

    base = yaml.safe_load((REPO / "environments" / "base.yaml").read_text())
    defaults = {name: base[name] for name in BASE_ONLY_SECTIONS}
    return EnvironmentConfig.model_validate(deep_merge(defaults, data))


def run_opsctl(
    *args: str,
    home: Path,
    environments: Path,
    state: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m ops_cli ARGS`` as a user runs it, in a clean environment: ``PATH``,
    ``HOME``, ``OPSCTL_ENVIRONMENTS_DIR`` and ``OPSCTL_STATE_DIR`` (``home/state``
    unless given), then ``env``; stdout and stderr captured as text; killed after 60 s."""
    variables = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "OPSCTL_ENVIRONMENTS_DIR": str(environments),
        "OPSCTL_STATE_DIR": str(state or home / "state"),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "ops_cli", *args],
        capture_output=True,
        text=True,
        env=variables,
        timeout=60,
        cwd=cwd,
    )
