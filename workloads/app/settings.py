"""Where the app finds the platform: one model, read from ``CRM_*`` variables, then the
platform's own discovery (``opsctl status --output json``) for the services' URLs.

Variables: ``CRM_SERVING_URL``, ``CRM_SERVING_API_KEY`` (or ``OPSCTL_SECRET_SERVING_API_KEY``),
``MLFLOW_TRACKING_URI``, ``CRM_REGISTRY__MODEL_NAME`` (and ``__CHAMPION_ALIAS``,
``__CHALLENGER_ALIAS``), ``CRM_DATA_URL``, ``CRM_MONITORING_URL``, ``CRM_EVIDENTLY_URL``,
``CRM_OPSCTL_ENV`` (default ``local``), ``CRM_OPSCTL`` (the command that runs opsctl;
default this interpreter's ``-m ops_cli``). Empty values count as unset.
"""

from __future__ import annotations

import shlex
import sys
from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from workloads.settings import RegistryNames, WorkloadSettings, load


class AppSettings(WorkloadSettings):
    """The app's view of the platform; a URL left unset is discovered."""

    model_config = SettingsConfigDict(
        env_prefix="CRM_",
        env_nested_delimiter="__",
        env_ignore_empty=True,
        populate_by_name=True,
        frozen=True,
        extra="forbid",
    )

    serving_url: str | None = None
    api_key: str | None = Field(
        None, validation_alias=AliasChoices("CRM_SERVING_API_KEY", "OPSCTL_SECRET_SERVING_API_KEY")
    )
    mlflow_url: str | None = Field(None, validation_alias="MLFLOW_TRACKING_URI")
    registry: RegistryNames = RegistryNames()
    data_url: str | None = None
    monitoring_url: str | None = None
    evidently_url: str | None = None
    opsctl_env: str = "local"
    opsctl: Annotated[tuple[str, ...], NoDecode] = (sys.executable, "-m", "ops_cli")

    @field_validator("opsctl", mode="before")
    @classmethod
    def _split_command(cls, value: Any) -> Any:
        """``CRM_OPSCTL`` is a shell-quoted command line."""
        return tuple(shlex.split(value)) if isinstance(value, str) else value

    @property
    def model_name(self) -> str:
        """The registered model's name."""
        return self.registry.model_name


def load_settings() -> AppSettings:
    """The settings from the process environment; raises
    :class:`workloads.settings.SettingsError` naming a variable whose value is refused."""
    return load(AppSettings)
