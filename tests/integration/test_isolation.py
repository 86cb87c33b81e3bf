"""The loopback-only network of the isolated platform tests: S3 calls of the test process
reach the namespace's loopback inside it and the host's loopback after it, whichever
side started fsspec's IO thread (the one s3fs runs every request on) first."""

from __future__ import annotations

import asyncio
import socket

import fsspec.asyn
import pytest

from tests.integration.isolation import loopback_only_network


async def _connect(port: int) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()
    await writer.wait_closed()


def _reaches(port: int) -> bool:
    try:
        asyncio.run_coroutine_threadsafe(_connect(port), fsspec.asyn.get_loop()).result(10)
    except ConnectionRefusedError:
        return False
    return True


def test_the_io_loop_follows_the_test_into_the_namespace_and_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as host_server:
        host_port = host_server.getsockname()[1]
        assert _reaches(host_port)  # the IO loop now runs on the host's side
        with loopback_only_network() as isolated:
            if not isolated:
                pytest.skip("creating a network namespace takes CAP_SYS_ADMIN (root, as in CI)")
            with socket.create_server(("127.0.0.1", 0)) as inside_server:
                assert _reaches(inside_server.getsockname()[1])
                assert not _reaches(host_port)
        assert _reaches(host_port)
