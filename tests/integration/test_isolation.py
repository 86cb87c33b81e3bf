"""The loopback-only network of the isolated platform tests ends with the module: S3
calls made in the test process afterwards reach the host's loopback, even when the
first one (which starts fsspec's IO thread) was made inside."""

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


def test_the_io_loop_started_inside_does_not_outlive_the_namespace() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:  # on the host's loopback
        port = server.getsockname()[1]
        with loopback_only_network() as isolated:
            if not isolated:
                pytest.skip("creating a network namespace takes CAP_SYS_ADMIN (root, as in CI)")
            inside = fsspec.asyn.get_loop()
            with pytest.raises(ConnectionRefusedError):  # the host's server is not here
                asyncio.run_coroutine_threadsafe(_connect(port), inside).result(timeout=10)
        outside = fsspec.asyn.get_loop()
        assert outside is not inside
        asyncio.run_coroutine_threadsafe(_connect(port), outside).result(timeout=10)
