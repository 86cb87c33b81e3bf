"""Secrets by name: from ``OPSCTL_SECRET_<NAME>`` or the environment's secrets file.

Configuration only ever names a secret; its value lives in the process
environment (CI, a vault agent) or, for local environments, in a generated
file readable by the owner alone (0600).
"""

from __future__ import annotations

import secrets as _random
from collections.abc import Iterable, Mapping
from pathlib import Path

from ops_cli.errors import ConfigError
from ops_cli.state import read_json, write_json_atomic

SECRET_VAR_PREFIX = "OPSCTL_SECRET_"


def secret_variable(name: str) -> str:
    """The environment variable that can carry secret ``name``."""
    return SECRET_VAR_PREFIX + name.upper().replace("-", "_")


class SecretStore:
    """Resolves secret names; values are never logged or rendered by this class."""

    def __init__(self, file: Path, environ: Mapping[str, str]) -> None:
        self._file = file
        self._environ = environ

    @property
    def file(self) -> Path:
        """The secrets file of the environment (0600, local environments write it)."""
        return self._file

    def get(self, name: str) -> str | None:
        """The value of ``name``, or None when it is set nowhere."""
        from_env = self._environ.get(secret_variable(name))
        if from_env:
            return from_env
        return (read_json(self._file) or {}).get(name)

    def require(self, name: str) -> str:
        """The value of ``name``; raises :class:`ConfigError` saying how to set it."""
        value = self.get(name)
        if value is None:
            raise ConfigError(
                f"secret '{name}' is not set; export {secret_variable(name)} "
                f"or add it to {self._file}"
            )
        return value

    def lenient(self) -> SecretStore:
        """A view whose :meth:`require` answers an empty string for an unset secret:
        for commands that inspect an environment (status, logs) and use no secret."""
        return _LenientSecretStore(self._file, self._environ)

    def ensure_generated(self, names: Iterable[str]) -> list[str]:
        """Generate the secrets among ``names`` that are set nowhere.

        Returns the names generated. The file is rewritten atomically with
        mode 0600, so a crash never leaves a half-written secrets file.
        """
        stored = dict(read_json(self._file) or {})
        created = [n for n in names if self.get(n) is None]
        if not created:
            return []
        for name in created:
            stored[name] = _random.token_urlsafe(24)
        write_json_atomic(self._file, stored, mode=0o600)
        return created


class _LenientSecretStore(SecretStore):
    def require(self, name: str) -> str:
        return self.get(name) or ""
