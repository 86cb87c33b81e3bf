"""Consul discovery (py-consul): healthy instances, watches, platform settings in KV.

Connection precedence, as for the ``consul`` CLI: ``CONSUL_HTTP_ADDR`` and
``CONSUL_HTTP_TOKEN`` first, then the environment's ``consul`` section; the
token otherwise comes from the secret store (``consul.token_secret``).

Watches follow Consul's rules for blocking queries: the last
``X-Consul-Index`` is passed back with a ``wait``; a return does not mean a
change (only a different instance list is reported); an index that goes
backwards resets to 0; an index is never used below 1; and the loop is
rate-limited.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import consul
import requests
from consul.exceptions import ConsulException
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from ops_cli.config.models import EnvironmentConfig
from ops_cli.discovery.base import Discovery, ServiceInstance
from ops_cli.errors import ConfigError, OpsError
from ops_cli.secrets import SecretStore

DEFAULT_ADDRESS = "http://127.0.0.1:8500"


@dataclass(frozen=True)
class ConsulConnection:
    """How to reach a Consul agent. ``token`` is hidden from ``repr``."""

    host: str
    port: int
    scheme: str = "http"
    datacenter: str | None = None
    token: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True)
class Setting:
    """A platform setting in KV with the index a check-and-set write needs."""

    key: str
    value: str
    modify_index: int


def consul_connection(
    config: EnvironmentConfig, secrets: SecretStore, environ: Mapping[str, str]
) -> ConsulConnection:
    """The Consul connection of ``config``; raises :class:`ConfigError` for a bad address."""
    section = config.consul
    address = environ.get("CONSUL_HTTP_ADDR") or (section.address if section else None)
    address = address or DEFAULT_ADDRESS
    parsed = urllib.parse.urlparse(address if "//" in address else f"//{address}")
    scheme = parsed.scheme or "http"
    if environ.get("CONSUL_HTTP_SSL", "").lower() == "true":
        scheme = "https"
    try:
        host, port = parsed.hostname, parsed.port or 8500
    except ValueError:
        host = None
    if not host:
        raise ConfigError(
            f"Consul address '{address}' is not <host>:<port> or <scheme>://<host>:<port>"
        )
    token_secret = section.token_secret if section else None
    token = environ.get("CONSUL_HTTP_TOKEN") or (
        secrets.get(token_secret) if token_secret else None
    )
    datacenter = section.datacenter if section else None
    return ConsulConnection(host, port, scheme, datacenter, token or None)


def next_index(previous: int, returned: int) -> int:
    """The index for the next blocking query: 0 when ``returned`` went backwards
    (start over), else ``returned`` but never below 1."""
    if returned < previous:
        return 0
    return max(returned, 1)


def instances_from_health(service: str, entries: list[dict[str, Any]]) -> list[ServiceInstance]:
    """Instances from ``/v1/health/service``; an empty ``Service.Address`` means
    the node's address. Sorted, so equal answers compare equal."""
    found = []
    for entry in entries or []:
        svc, node = entry.get("Service") or {}, entry.get("Node") or {}
        address = svc.get("Address") or node.get("Address") or ""
        port = int(svc.get("Port") or 0)
        host = f"[{address}]" if ":" in address else address
        tags = tuple(svc.get("Tags") or ())
        found.append(ServiceInstance(service, address, port, f"http://{host}:{port}", tags))
    return sorted(found, key=lambda i: (i.address, i.port))


class ConsulDiscovery(Discovery):
    """Healthy instances by service name, watches, and settings under ``kv_prefix``."""

    def __init__(
        self,
        connection: ConsulConnection,
        *,
        kv_prefix: str = "opsctl",
        timeout_s: float = 10.0,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        self.kv_prefix = kv_prefix.strip("/")
        self._attempts = attempts
        self._sleep = sleep
        self._clock = clock
        self._consul = consul.Consul(
            host=connection.host,
            port=connection.port,
            scheme=connection.scheme,
            token=connection.token,
            dc=connection.datacenter,
            connections_timeout=timeout_s,
        )

    def resolve(self, service: str) -> list[ServiceInstance]:
        """Instances whose every check passes; [] when none. Raises :class:`OpsError`
        when Consul cannot be asked."""
        _, entries = self._call(
            f"look up service '{service}'",
            lambda: self._consul.health.service(service, passing=True),
        )
        return instances_from_health(service, entries)

    def watch(
        self,
        service: str,
        *,
        wait: str = "30s",
        min_interval_s: float = 1.0,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[list[ServiceInstance]]:
        """Yield the healthy instances now, then each time the list changes,
        until ``should_stop()``. At most one query per ``min_interval_s``."""
        index, last = 0, None
        while not should_stop():
            began = self._clock()
            returned, entries = self._call(
                f"watch service '{service}'",
                lambda i=index: self._consul.health.service(
                    service, passing=True, index=i or None, wait=wait
                ),
            )
            index = next_index(index, int(returned))
            current = instances_from_health(service, entries)
            if current != last:
                last = current
                yield current
            pause = min_interval_s - (self._clock() - began)
            if pause > 0:
                self._sleep(pause)

    def read_setting(self, key: str) -> Setting | None:
        """The platform setting ``key`` (under ``kv_prefix``), or None when unset."""
        full = self._key(key)
        _, item = self._call(f"read setting '{full}'", lambda: self._consul.kv.get(full))
        if item is None:
            return None
        raw = item.get("Value") or b""
        value = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        return Setting(key, value, int(item["ModifyIndex"]))

    def write_setting(self, key: str, value: str, *, expected_index: int) -> bool:
        """Check-and-set write: succeeds only if the setting's ModifyIndex is still
        ``expected_index`` (0: only if it does not exist). False means someone else
        wrote first; read again and retry."""
        full = self._key(key)
        return bool(
            self._call(
                f"write setting '{full}'",
                lambda: self._consul.kv.put(full, value, cas=expected_index),
                safe=False,
            )
        )

    def _key(self, key: str) -> str:
        return f"{self.kv_prefix}/{key.strip('/')}" if self.kv_prefix else key.strip("/")

    def _call(self, what: str, call: Callable[[], Any], *, safe: bool = True) -> Any:
        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=0.2, max=5),
            retry=retry_if_exception(lambda e: _transient(e, safe=safe)),
            reraise=True,
            sleep=self._sleep,
        )
        try:
            return retrying(call)
        except (ConsulException, requests.RequestException) as exc:
            raise OpsError(
                f"Consul at {self.connection.address} could not {what}: {exc}",
                hint="set CONSUL_HTTP_ADDR / CONSUL_HTTP_TOKEN or the environment's consul section",
            ) from None


def _transient(exc: BaseException, *, safe: bool) -> bool:
    """5xx and timeouts for reads; for writes only what never reached Consul."""
    if isinstance(exc, requests.ConnectionError):
        return True
    if isinstance(exc, requests.Timeout):
        return safe
    if type(exc) is ConsulException and str(exc)[:1] == "5":  # "<status> <body>" for 5xx
        return safe or "No cluster leader" in str(exc)
    return False
