"""The platform's services as the scheduler and discovery see them, read by running
``opsctl status --output json`` (the app never imports the operator)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from workloads.app.settings import AppSettings


class StatusUnavailable(RuntimeError):
    """opsctl could not be run or printed no status."""


def platform_status(settings: AppSettings, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """One dict per service (name, health, detail, endpoints, ...); raises
    StatusUnavailable with the reason when opsctl gives no answer."""
    command = [*settings.opsctl, "status", "--env", settings.opsctl_env, "--output", "json"]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StatusUnavailable(f"could not run {' '.join(command)}: {exc}") from None
    try:
        return list(json.loads(done.stdout)["services"])
    except (json.JSONDecodeError, KeyError, TypeError):
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise StatusUnavailable(
            f"`opsctl status` exited {done.returncode}: {' '.join(tail) or 'no output'}"
        ) from None


def service_url(services: list[dict[str, Any]], name: str) -> str | None:
    """The base URL (scheme, host, port) of service ``name``'s first endpoint."""
    for service in services:
        if service.get("name") == name and service.get("endpoints"):
            url = str(service["endpoints"][0]["url"])
            scheme, _, rest = url.partition("://")
            return f"{scheme}://{rest.split('/', 1)[0]}"
    return None


def discover(settings: AppSettings, name: str, configured: str | None) -> str | None:
    """``configured`` when set, else the URL discovery knows for service ``name``."""
    if configured:
        return configured
    try:
        return service_url(platform_status(settings), name)
    except StatusUnavailable:
        return None
