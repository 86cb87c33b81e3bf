"""``ml`` takes every platform setting from its caller: the tests take the platform's
defaults (``workloads.flows.settings``, equal to ``environments/base.yaml``) and change
what they test."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ml.settings import PipelineSettings, RegistrySettings
from workloads.flows.settings import PipelineSettings as PlatformSettings
from workloads.settings import load


def platform_settings(*, name: str | None = None, **changes: Any) -> PipelineSettings:
    """The platform's default settings as ``ml`` takes them, ``changes`` applied;
    ``name`` gives the model and its experiment a name of their own."""
    settings = load(PlatformSettings, {}).for_ml()
    if name is not None:
        changes["registry"] = replace(settings.registry, model_name=name, experiment=name)
    return replace(settings, **changes)


def named(name: str) -> RegistrySettings:
    """The platform's registry names with model and experiment ``name``."""
    return platform_settings(name=name).registry
