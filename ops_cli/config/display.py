"""The resolved config as a user may see it: secret values never appear."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ops_cli.config.models import EnvironmentConfig

_SENSITIVE_KEY = re.compile(r"(password|secret|token|api[_-]?key|credential)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z0-9+.-]+://[^:/@\s]+):[^@\s]+@", re.IGNORECASE)
MASK = "***"


def masked_config(config: EnvironmentConfig, is_set: Callable[[str], bool]) -> dict[str, Any]:
    """``config`` as plain data; ``*_secret`` references show the secret's name and
    whether it is set, sensitive-looking values are masked, URL passwords too."""
    return _mask(config.model_dump(mode="json"), is_set)


def _mask(node: Any, is_set: Callable[[str], bool], key: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _mask(v, is_set, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_mask(v, is_set, key) for v in node]
    if not isinstance(node, str):
        return node
    if key.endswith("_secret"):
        return f"secret:{node} ({'set' if is_set(node) else 'not set'})"
    if _SENSITIVE_KEY.search(key):
        return MASK
    return _URL_PASSWORD.sub(rf"\g<scheme>:{MASK}@", node)
