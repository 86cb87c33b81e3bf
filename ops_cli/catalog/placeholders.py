"""``${name}`` placeholders in workload specs, filled from a backend's context.

Only lowercase names (letters, digits, ``_ . -``) are placeholders, so strings
meant for the runtime, such as Nomad's ``${NOMAD_PORT_http}``, pass through.
``$${`` escapes a literal ``${``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ops_cli.errors import ConfigError

_PLACEHOLDER = re.compile(r"\$(\$)?\{([a-z][a-z0-9_.\-]*)\}")


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
