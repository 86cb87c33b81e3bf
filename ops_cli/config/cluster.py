"""The cluster APIs an environment talks to: Nomad (with its placement rules) and Consul,
and the TLS both share."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ops_cli.config.common import SecretName, Strict

CONSTRAINT_OPERATORS = (
    *("=", "==", "is", "!=", "not", ">", ">=", "<", "<="),
    *("regexp", "set_contains", "set_contains_all", "set_contains_any", "version", "semver"),
    *("is_set", "is_not_set", "distinct_hosts", "distinct_property"),
)
"""Operators Nomad's job validation accepts (``Constraint.Validate`` in nomad/structs)."""

_NEEDS_VALUE = (*CONSTRAINT_OPERATORS[:9], "set_contains", "set_contains_all", "set_contains_any")


class NomadConstraint(Strict):
    """A placement rule for every job of the environment (Nomad's ``constraint``).

    Refused as Nomad's ``Constraint.Validate`` refuses them: an unknown operator,
    an empty ``value`` for a comparison or a set operator, a ``value`` for
    ``is_set``/``is_not_set``, a ``regexp`` that does not compile, a
    ``distinct_property`` limit that is not a positive integer, and an empty
    ``attribute`` for anything but ``distinct_hosts``.
    """

    attribute: str = ""
    operator: str = "="
    value: str = ""

    @model_validator(mode="after")
    def _as_nomad_validates(self) -> NomadConstraint:
        op, value = self.operator, self.value
        if op not in CONSTRAINT_OPERATORS:
            raise ValueError(f"operator '{op}' is unknown to Nomad; one of {CONSTRAINT_OPERATORS}")
        if op in _NEEDS_VALUE and not value:
            raise ValueError(f"operator '{op}' needs a non-empty value")
        if op in ("is_set", "is_not_set") and value:
            raise ValueError(f"operator '{op}' takes no value")
        if op == "regexp":
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"value is not a regular expression: {exc}") from None
        if op == "distinct_property" and value and not (value.isdigit() and int(value) >= 1):
            raise ValueError("distinct_property's value (a limit) must be a positive integer")
        if op != "distinct_hosts" and not self.attribute:
            raise ValueError(f"operator '{op}' needs an attribute")
        return self


LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def in_clear_off_machine(address: str) -> bool:
    """True for an ``http://`` address whose host is not loopback: a token sent there
    crosses the network in clear (a local tunnel never leaves the machine)."""
    if not address.lower().startswith("http://"):
        return False
    host = address.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return host not in LOOPBACK


class ClusterTls(Strict):
    """TLS settings of a cluster API (Nomad, Consul): the CA that signed its certificate
    and, for a cluster that verifies its callers (mTLS), a client certificate and key.
    Paths to PEM files; the ``<TOOL>_CACERT``/``_CLIENT_CERT``/``_CLIENT_KEY``
    variables override them. With ``require_tls`` an ``http://`` address is refused:
    the token would cross the network in clear."""

    ca_cert: Path | None = Field(
        None, description="CA bundle the API's certificate is checked with"
    )
    client_cert: Path | None = Field(None, description="client certificate (PEM), with client_key")
    client_key: Path | None = Field(None, description="its private key (PEM)")
    require_tls: bool = Field(
        False, description="refuse an http:// address: the token must travel over TLS"
    )

    @model_validator(mode="after")
    def _tls_is_consistent(self) -> ClusterTls:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together: set both or neither")
        address = getattr(self, "address", None) or ""
        if self.require_tls and in_clear_off_machine(address):
            section = type(self).__name__.removesuffix("Config").lower()
            raise ValueError(
                f"{section}.address is {address}, but require_tls is on (the token would "
                "cross the network in clear): use https://"
            )
        return self


class NomadConfig(ClusterTls):
    """The Nomad cluster; ``NOMAD_ADDR``/``NOMAD_TOKEN``/``NOMAD_NAMESPACE`` override it."""

    address: str | None = None
    region: str | None = None
    namespace: str = "default"
    datacenters: list[str] = Field(default_factory=lambda: ["*"])
    node_pool: str | None = None
    driver: Literal["docker", "raw_exec"] = "docker"
    constraints: list[NomadConstraint] = Field(default_factory=list)
    token_secret: SecretName | None = "nomad-token"


class ConsulConfig(ClusterTls):
    """The Consul agent; ``CONSUL_HTTP_ADDR``/``CONSUL_HTTP_TOKEN`` override it."""

    address: str | None = None
    datacenter: str | None = None
    token_secret: SecretName | None = "consul-token"
    kv_prefix: str = "opsctl"
