"""``${name}`` placeholders in workload specs, filled from a backend's context.

Only lowercase names (letters, digits, ``_ . -``) are placeholders, so strings
meant for the runtime, such as Nomad's ``${NOMAD_PORT_http}``, pass through.
``$${`` escapes a literal ``${``.

``${secret.NAME}`` is a secret the workload cannot run without (a missing one is an
error); ``${secret?NAME}`` is an optional one, empty when it is set nowhere (the
alert webhook: without it alerts are kept, and sent nowhere).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ops_cli.errors import ConfigError

_PLACEHOLDER = re.compile(r"\$(\$)?\{([a-z][a-z0-9_.\-]*(?:\?[a-z0-9][a-z0-9_.\-]*)?)\}")

OPTIONAL_SECRET = "secret?"
"""The prefix of an optional secret's placeholder name (``secret?NAME``)."""


def placeholders_in(text: str) -> set[str]:
    """Names referenced by ``text`` (escaped ones excluded)."""
    return {m.group(2) for m in _PLACEHOLDER.finditer(text) if not m.group(1)}


def fill(text: str, context: Mapping[str, str], *, where: str) -> str:
    """Replace every placeholder of ``text`` from ``context``.

    Raises :class:`ConfigError` naming ``where`` and the unknown name.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return "${" + match.group(2) + "}"
        name = match.group(2)
        if name not in context:
            raise ConfigError(f"{where}: unknown placeholder '${{{name}}}'")
        return context[name]

    return _PLACEHOLDER.sub(replace, text)


def auth_context(required: bool, api_key_secret: str) -> dict[str, str]:
    """``auth.required`` (``true``/``false``) and ``auth.api_key``: the secret holding
    the prediction service's API key where the environment requires authentication
    (as a ``${secret.NAME}`` placeholder each backend resolves its own way), else empty.
    """
    return {
        "auth.required": "true" if required else "false",
        "auth.api_key": f"${{secret.{api_key_secret}}}" if required else "",
    }


def alerts_context(webhook_url_secret: str) -> dict[str, str]:
    """``alerts.webhook_url``: the secret holding the alert webhook's URL (the one the
    monitoring flow posts to), as an optional ``${secret?NAME}`` placeholder."""
    return {"alerts.webhook_url": f"${{{OPTIONAL_SECRET}{webhook_url_secret}}}"}


def secret_reference(name: str) -> tuple[str, bool] | None:
    """``(secret name, required)`` for a ``secret.NAME`` or ``secret?NAME`` placeholder
    name, else None."""
    if name.startswith("secret."):
        return name.removeprefix("secret."), True
    if name.startswith(OPTIONAL_SECRET):
        return name.removeprefix(OPTIONAL_SECRET), False
    return None
