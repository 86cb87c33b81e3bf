"""What the workloads' settings share: the registry names, and loading a settings model
from environment variables with errors that name the variable.

Each workload family has one pydantic-settings model and one variable prefix; a nested
field takes ``__`` between its parts (``PIPELINE_MARGINS__AUC_OVER_BASELINE``):

| family | model | prefix |
| --- | --- | --- |
| pipeline flows | :class:`workloads.flows.settings.PipelineSettings` | ``PIPELINE_`` |
| monitoring | :class:`workloads.monitoring.settings.MonitoringSettings` | ``MONITORING_`` |
| prediction service | :class:`workloads.serving.settings.ServingSettings` | ``SERVING_`` |
| app | :class:`workloads.app.settings.AppSettings` | ``CRM_`` |

Their defaults equal ``environments/base.yaml``; opsctl sets the variables from the
environment's config (``ops_cli/workload_settings.py`` and the catalog), and
``tests/workloads/test_settings_contract.py`` checks the two agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

import pydantic_settings
from pydantic import AliasChoices, BaseModel, ConfigDict, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

LOCAL_DATA_URL = "file://./.data/crm-data"
"""Where a flow run outside the platform keeps its data (opsctl always sets the bucket)."""

MODEL_NAME = "crm-win-probability"
"""The registered model's name unless ``registry.model_name`` says otherwise."""

S = TypeVar("S", bound=BaseSettings)

# the variables :func:`load` reads instead of the process environment, while it runs
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("workload_environ", default=None)


class RegistryNames(BaseModel):
    """The registered model and its aliases (``registry`` of ``environments/*.yaml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_name: str = MODEL_NAME
    champion_alias: str = "champion"
    challenger_alias: str = "challenger"


class SettingsError(ValueError):
    """A setting's variable holds a value its model refuses; the message names it."""


class WorkloadSettings(BaseSettings):
    """Base of the families' models: values come from keyword arguments, then the
    variables (``load`` may give a mapping instead of the process environment), then
    the defaults; unknown variables under the prefix are refused by :func:`load`."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the variables (a mapping while :func:`load` runs)."""
        # no .env file or secrets folder: a workload's variables come from its catalog
        environ = _ENVIRON.get()
        if environ is not None:
            env_settings = _MappingSource(settings_cls, environ)
        return init_settings, env_settings


class _MappingSource(EnvSettingsSource):
    """The environment source reading a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            name if self.case_sensitive else name.lower(): value
            for name, value in self._environ.items()
            if not (self.env_ignore_empty and value == "")
        }


def prefix_of(cls: type[BaseSettings]) -> str:
    """The variable prefix of settings model ``cls`` (``PIPELINE_``)."""
    return str(cls.model_config.get("env_prefix", ""))


def variables_of(cls: type[BaseSettings]) -> dict[str, str]:
    """Field name -> the variable that sets it as a whole (``trials`` -> ``PIPELINE_TRIALS``)."""
    found = {}
    for name, info in cls.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            alias = alias.choices[0]
        found[name] = str(alias) if isinstance(alias, str) else (prefix_of(cls) + name).upper()
    return found


def variable_for(cls: type[BaseSettings], loc: tuple[Any, ...]) -> str:
    """The variable a validation error's location comes from:
    ``("margins", "auc_over_baseline")`` -> ``PIPELINE_MARGINS__AUC_OVER_BASELINE``."""
    if not loc:
        return prefix_of(cls) + "*"
    head = variables_of(cls).get(str(loc[0]), (prefix_of(cls) + str(loc[0])).upper())
    return "__".join([head, *(str(part).upper() for part in loc[1:])])


def load(cls: type[S], environ: Mapping[str, str] | None = None, **values: Any) -> S:
    """Settings ``cls`` from ``values`` (keyword arguments win), the variables of
    ``environ`` (default: the process environment), then the defaults.

    Raises :class:`SettingsError` naming each variable whose value is refused, or a
    variable under the model's prefix that sets no field (a misspelt name)."""
    environ = os.environ if environ is None else environ
    _refuse_unknown(cls, environ)
    token = _ENVIRON.set(None if environ is os.environ else environ)
    try:
        return cls(**values)
    except ValidationError as exc:
        raise SettingsError(describe(cls, exc, environ)) from None
    except pydantic_settings.SettingsError as exc:  # a nested field's JSON did not parse
        raise SettingsError(f"{cls.__name__}: {exc}") from None
    finally:
        _ENVIRON.reset(token)


def describe(
    cls: type[BaseSettings], exc: ValidationError, environ: Mapping[str, str] | None = None
) -> str:
    """One line per refused value: ``PIPELINE_TRIALS='many': Input should be a valid integer``."""
    environ = os.environ if environ is None else environ
    lines = []
    for error in exc.errors():
        if not error["loc"]:  # a check across fields: its message names the variables
            lines.append(str(error["msg"]).removeprefix("Value error, "))
            continue
        variable = variable_for(cls, tuple(error["loc"]))
        shown = f"{variable}={environ[variable]!r}" if variable in environ else variable
        lines.append(f"{shown}: {error['msg']}")
    return "; ".join(lines)


def _refuse_unknown(cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
    prefix = prefix_of(cls).upper()
    known = set(variables_of(cls).values())
    unknown = sorted(
        name
        for name in environ
        if name.upper().startswith(prefix) and name.upper().split("__")[0] not in known
    )
    if unknown:
        raise SettingsError(
            f"unknown variable{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: "
            f"{cls.__name__} reads {', '.join(sorted(known))}"
        )
