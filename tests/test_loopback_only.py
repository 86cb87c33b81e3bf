"""The test process reaches loopback and unix sockets only (pytest-socket, configured in
``pyproject.toml``): a connection anywhere else fails before a packet leaves."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from pytest_socket import SocketConnectBlockedError


def _guard_is_on() -> bool:
    return socket.socket.connect.__name__ == "guarded_connect"


@pytest.mark.filterwarnings("ignore:A test tried to use socket:UserWarning")
def test_a_connection_beyond_loopback_is_refused_before_it_is_tried() -> None:
    assert _guard_is_on(), "pytest-socket is not guarding connections (see pyproject addopts)"
    with (
        pytest.raises(SocketConnectBlockedError, match="192.0.2.1"),
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
    ):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed anyway


def test_loopback_and_unix_sockets_still_connect(tmp_path: Path) -> None:
    assert _guard_is_on()
    with socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname(), timeout=5):
            server.accept()[0].close()
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen(1)
        accepted = threading.Thread(target=lambda: listener.accept()[0].sendall(b"ok"))
        accepted.start()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
            assert client.recv(2) == b"ok"
        accepted.join(timeout=5)
