"""Rules shared by every cluster API opsctl talks to (Nomad, Consul): TLS, tokens, CAs.

Each client follows its own CLI's variables (``NOMAD_*``, ``CONSUL_HTTP_*``);
what they have in common lives here, so neither client module depends on the
other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ops_cli.config.models import in_clear_off_machine
from ops_cli.errors import ConfigError
from ops_cli.secrets import SecretStore, secret_variable


def require_tls(required: bool, address: str, setting: str, environment: str) -> None:
    """Refuse an ``http://`` address when the environment demands TLS: the token would
    cross the network in clear. Loopback (a local tunnel) never leaves the machine.

    Raises :class:`ConfigError` naming ``setting``.
    """
    if required and in_clear_off_machine(address):
        raise ConfigError(f"{setting} is {address}, but '{environment}' requires TLS: use https://")


@dataclass(frozen=True)
class Token:
    """An API token and where it came from; ``value`` is hidden from ``repr``.

    ``source`` names what the operator sets to change it: the variable that
    held it, or both candidates when none was set (for error messages).
    """

    value: str | None = field(default=None, repr=False)
    source: str = ""


def resolve_token(
    environ: Mapping[str, str], variable: str, secrets: SecretStore, secret: str | None
) -> Token:
    """The token from ``variable`` (e.g. ``CONSUL_HTTP_TOKEN``), else from the secret
    store's ``secret`` (``OPSCTL_SECRET_<NAME>`` or the secrets file), else none."""
    if environ.get(variable):
        return Token(environ[variable], variable)
    stored = secrets.get(secret) if secret else None
    if stored:
        return Token(stored, secret_variable(secret or ""))
    candidates = [variable, *([secret_variable(secret)] if secret else [])]
    return Token(None, " or ".join(candidates))


def ca_bundle(
    environ: Mapping[str, str], variable: str, configured: Path | None = None, setting: str = ""
) -> bool | str:
    """What ``requests`` verifies TLS against: the CA file named by ``variable``
    (``NOMAD_CACERT``, ``CONSUL_CACERT``), else the environment's ``configured`` one
    (``setting``, e.g. ``nomad.ca_cert``), else the system's trust store (True).

    Raises :class:`ConfigError` naming the variable or setting when the file is missing.
    """
    if environ.get(variable):
        return _readable(environ[variable], variable)
    if configured is not None:
        return _readable(str(configured), setting)
    return True


def client_certificate(
    environ: Mapping[str, str],
    prefix: str,
    configured: tuple[Path | None, Path | None] = (None, None),
    section: str = "",
) -> tuple[str, str] | None:
    """The client certificate and key ``requests`` presents (mutual TLS): from
    ``<prefix>_CLIENT_CERT``/``<prefix>_CLIENT_KEY`` (``NOMAD``, ``CONSUL``), else the
    environment's ``<section>.client_cert``/``client_key``; None when neither is set.

    Raises :class:`ConfigError` naming what is set when one comes without the other
    or a file is missing.
    """
    cert_var, key_var = f"{prefix}_CLIENT_CERT", f"{prefix}_CLIENT_KEY"
    if environ.get(cert_var) or environ.get(key_var):
        pair = (environ.get(cert_var, ""), environ.get(key_var, ""))
        names = (cert_var, key_var)
    else:
        pair = tuple(str(p) if p else "" for p in configured)  # type: ignore[assignment]
        names = (f"{section}.client_cert", f"{section}.client_key")
    if not any(pair):
        return None
    if not all(pair):
        raise ConfigError(f"{names[0]} and {names[1]} go together: set both or neither")
    return _readable(pair[0], names[0]), _readable(pair[1], names[1])


def _readable(path: str, setting: str) -> str:
    if not Path(path).is_file():
        raise ConfigError(f"{setting} names {path}, which is not a readable file")
    return path
