"""Consul discovery (py-consul): healthy instances, watches, platform settings in KV.

Connection precedence, as for the ``consul`` CLI: ``CONSUL_HTTP_ADDR``,
``CONSUL_HTTP_TOKEN`` and ``CONSUL_CACERT`` first, then the environment's
``consul`` section; the token otherwise comes from the secret store
(``consul.token_secret``).

Watches follow Consul's rules for blocking queries: the last
``X-Consul-Index`` is passed back with a ``wait``; a return does not mean a
change (only a different instance list is reported); an index that goes
backwards resets to 0; an index is never used below 1; and the loop is
rate-limited.

ACLs: Consul does not refuse a catalog or health read by a token that lacks
``service:read``/``node:read``; it filters the entries the token may not see
and answers ``200`` with what is left, often ``[]``. When it filters for a
token it says so (``X-Consul-Results-Filtered-By-ACLs: true``; never for the
anonymous token, so nothing leaks). Such an answer raises
:class:`ConsulPermissionError` naming the variable that holds the token, as
does an empty answer without any token from an agent whose default policy is
``deny`` (``X-Consul-Default-ACL-Policy``): "no instances" is reported only
when Consul has shown every instance it has.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import consul
import requests
from consul.exceptions import ACLPermissionDenied, ConsulException
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from ops_cli.config.models import EnvironmentConfig
from ops_cli.connection import ca_bundle, client_certificate, require_tls, resolve_token
from ops_cli.discovery.base import Discovery, DiscoveryPermissionError, ServiceInstance
from ops_cli.errors import ConfigError, OpsError
from ops_cli.secrets import SecretStore

DEFAULT_ADDRESS = "http://127.0.0.1:8500"
FILTERED_HEADER = "X-Consul-Results-Filtered-By-ACLs"
DEFAULT_POLICY_HEADER = "X-Consul-Default-ACL-Policy"


class ConsulPermissionError(DiscoveryPermissionError):
    """The token may not read what was asked: Consul refused (403) or filtered the answer."""


@dataclass(frozen=True)
class ConsulConnection:
    """How to reach a Consul agent. ``token`` is hidden from ``repr``."""

    host: str
    port: int
    scheme: str = "http"
    datacenter: str | None = None
    token: str | None = field(default=None, repr=False)
    verify: bool | str = True
    token_source: str = "CONSUL_HTTP_TOKEN"
    """Where the token came from (or may be set), for permission errors."""
    cert: tuple[str, str] | None = None
    """Client certificate and key presented to an agent that verifies its callers."""

    @property
    def address(self) -> str:
        """The agent's base URL, ``<scheme>://<host>:<port>``."""
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
    required = bool(section and section.require_tls)
    setting = "CONSUL_HTTP_ADDR" if environ.get("CONSUL_HTTP_ADDR") else "consul.address"
    require_tls(required, f"{scheme}://{address.split('//')[-1]}", setting, config.name)
    token = resolve_token(
        environ, "CONSUL_HTTP_TOKEN", secrets, section.token_secret if section else None
    )
    configured = (section.client_cert, section.client_key) if section else (None, None)
    return ConsulConnection(
        host,
        port,
        scheme,
        section.datacenter if section else None,
        token.value,
        ca_bundle(environ, "CONSUL_CACERT", section.ca_cert if section else None, "consul.ca_cert"),
        token.source,
        client_certificate(environ, "CONSUL", configured, "consul"),
    )


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
            verify=connection.verify,
            cert=connection.cert,
            connections_timeout=timeout_s,
        )
        # py-consul returns only the body and the index; the ACL headers of the
        # last answer are kept here (one client, one request at a time)
        self._last_headers: Mapping[str, str] = {}
        self._consul.http.session.hooks["response"].append(self._keep_headers)

    def _keep_headers(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        self._last_headers = response.headers

    def resolve(self, service: str) -> list[ServiceInstance]:
        """Instances whose every check passes; [] when none. Raises :class:`OpsError`
        when Consul cannot be asked."""
        what = f"look up service '{service}'"
        _, entries = self._call(what, lambda: self._consul.health.service(service, passing=True))
        self._check_not_filtered(what, entries)
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
            what = f"watch service '{service}'"
            returned, entries = self._call(
                what,
                partial(
                    self._consul.health.service,
                    service,
                    passing=True,
                    index=index or None,
                    wait=wait,
                ),
            )
            self._check_not_filtered(what, entries)
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

    def _check_not_filtered(self, what: str, entries: list[Any] | None) -> None:
        """Raise :class:`ConsulPermissionError` when the last answer is not every
        entry Consul has (see the module docstring)."""
        headers, source = self._last_headers, self.connection.token_source
        if headers.get(FILTERED_HEADER, "").lower() == "true":
            seen = f"only {len(entries)} entries" if entries else "nothing"
            raise ConsulPermissionError(
                f"Consul at {self.connection.address} filtered the answer to {what} by ACLs: "
                f"the token in {source} may not read every instance (it saw {seen}); "
                "this is a permission problem, not a missing service",
                hint=f"give the token in {source} service:read and node:read "
                '(e.g. service_prefix "" { policy = "read" }, node_prefix "" { policy = "read" })',
            )
        denied = headers.get(DEFAULT_POLICY_HEADER, "").lower() == "deny"
        if not entries and denied and not self.connection.token:
            raise ConsulPermissionError(
                f"Consul at {self.connection.address} denies by default and no token is set, "
                f"so it hides every instance from the request to {what}",
                hint=f"set {source} to a token with service:read and node:read",
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
        except ACLPermissionDenied as exc:
            raise ConsulPermissionError(
                f"Consul at {self.connection.address} refused to {what}: permission denied "
                f"({exc}); the token is in {self.connection.token_source}",
                hint=f"set {self.connection.token_source} to a token with the needed policy",
            ) from None
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
