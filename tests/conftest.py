"""Shared fixtures: a private copy of the environments folder, free loopback ports."""

from __future__ import annotations

import shutil
import socket
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
