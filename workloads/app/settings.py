"""Where the app finds the platform: environment variables first, then the platform's
own discovery (``opsctl status --output json``) for the services' URLs.

Variables: ``CRM_SERVING_URL``, ``CRM_SERVING_API_KEY`` (or ``OPSCTL_SECRET_SERVING_API_KEY``),
``MLFLOW_TRACKING_URI``, ``CRM_REGISTRY_MODEL_NAME``, ``CRM_DATA_URL``,
``CRM_MONITORING_URL``, ``CRM_EVIDENTLY_URL``, ``CRM_OPSCTL_ENV`` (default ``local``),
``CRM_OPSCTL`` (the command that runs opsctl; default this interpreter's ``-m ops_cli``).
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class AppSettings:
    """The app's view of the platform."""

    serving_url: str | None
    api_key: str | None
    mlflow_url: str | None
    model_name: str
    data_url: str | None
    monitoring_url: str | None
    evidently_url: str | None
    environment: str
    opsctl: tuple[str, ...]


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def load_settings() -> AppSettings:
    """The settings from the process environment."""
    command = _env("CRM_OPSCTL")
    return AppSettings(
        serving_url=_env("CRM_SERVING_URL"),
        api_key=_env("CRM_SERVING_API_KEY") or _env("OPSCTL_SECRET_SERVING_API_KEY"),
        mlflow_url=_env("MLFLOW_TRACKING_URI"),
        model_name=_env("CRM_REGISTRY_MODEL_NAME") or "crm-win-probability",
        data_url=_env("CRM_DATA_URL"),
        monitoring_url=_env("CRM_MONITORING_URL"),
        evidently_url=_env("CRM_EVIDENTLY_URL"),
        environment=_env("CRM_OPSCTL_ENV") or "local",
        opsctl=tuple(shlex.split(command)) if command else (sys.executable, "-m", "ops_cli"),
    )
