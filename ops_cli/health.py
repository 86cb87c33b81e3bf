"""Health probes: an HTTP GET answering 2xx/3xx, or a TCP connect."""

from __future__ import annotations

import functools
import socket
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class ProbeTarget:
    """What to probe: ``kind`` is ``http`` (with ``url``) or ``tcp`` (host and port)."""

    kind: str
    host: str
    port: int
    url: str | None = None


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one probe: ``healthy``, and what was seen (status code, error) in ``detail``."""

    healthy: bool
    detail: str


def probe(target: ProbeTarget, timeout_s: float) -> ProbeResult:
    """Probe once; never raises for a network failure, which is reported as unhealthy."""
    if target.kind == "tcp":
        return _probe_tcp(target.host, target.port, timeout_s)
    assert target.url is not None
    return _probe_http(target.url, timeout_s)


def _probe_tcp(host: str, port: int, timeout_s: float) -> ProbeResult:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return ProbeResult(True, f"tcp {host}:{port} accepts connections")
    except OSError as exc:
        return ProbeResult(False, f"tcp {host}:{port}: {exc.strerror or exc}")


@functools.cache
def _client() -> httpx.Client:
    """One client per process: building one costs a TLS context (~0.1 s), and
    ``up``/``status`` probe every service, often twice."""
    return httpx.Client(follow_redirects=False)


def _probe_http(url: str, timeout_s: float) -> ProbeResult:
    try:
        response = _client().get(url, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return ProbeResult(False, f"GET {url}: {type(exc).__name__}")
    ok = 200 <= response.status_code < 400
    return ProbeResult(ok, f"GET {url}: {response.status_code}")
