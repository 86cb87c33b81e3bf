"""Shared fixtures: a private copy of the environments folder, free loopback ports."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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
def _restore_mlflow_tracking_uri():
    """``mlflow.set_tracking_uri`` changes a process-wide default *and* exports
    ``MLFLOW_TRACKING_URI``; put both back after every test so none leaks into the next."""
    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        mlflow.set_tracking_uri(None)
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before
