"""Load an environment: ``base.yaml`` <- ``<env>.yaml`` <- ``OPSCTL_*`` variables.

Merging is a deep merge of mappings (lists and scalars are replaced). Every
error names where the offending value came from: the file, the key path and,
for unknown keys, the keys that are allowed there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ops_cli.config.cloud import PRODUCTION_RULES_BROKEN
from ops_cli.config.models import EnvironmentConfig
from ops_cli.config.schema_paths import allowed_keys_at, annotation_at, holds_text
from ops_cli.errors import ConfigError

ENV_PREFIX = "OPSCTL_"
# Variables of ours that are not config overrides.
# OPSCTL_PROCESS_OWNER: set by the local scheduler in every workload process (and so
# in an `opsctl status` the app runs), see ops_cli.scheduler.local.launch.
RESERVED_VARIABLES = {
    "OPSCTL_ENV",
    "OPSCTL_ENVIRONMENTS_DIR",
    "OPSCTL_OUTPUT",
    "OPSCTL_PROCESS_OWNER",
}
# OPSCTL_TEST_*: the test suite's own settings (OPSCTL_TEST_PORT_START), which reach
# the opsctl processes its integration tests start.
RESERVED_PREFIXES = ("OPSCTL_SECRET_", "OPSCTL_TEST_")
BASE_FILE = "base.yaml"


@dataclass(frozen=True)
class Layer:
    """One source of settings and the label errors use for it."""

    label: str
    data: dict[str, Any]
    # for variables: key path -> the variable that set it
    origins: dict[tuple[str, ...], str] = field(default_factory=dict)


ENVIRONMENTS_VARIABLE = "OPSCTL_ENVIRONMENTS_DIR"
INSTALL_ENVIRONMENTS = Path(__file__).resolve().parents[2] / "environments"
"""The ``environments/`` folder of an editable checkout, beside the ``ops_cli`` package."""


def find_environments_dir(explicit: Path | None = None) -> Path:
    """The folder holding ``base.yaml``: ``explicit`` (a caller's choice), else
    ``OPSCTL_ENVIRONMENTS_DIR``, else the nearest ``environments/`` in or above the
    working directory, else the one beside this installation (an editable checkout).

    Raises :class:`ConfigError` (exit 2) naming the folder or variable that holds no
    ``base.yaml``, or, when none is found, the variable that chooses one.
    """
    origin = "the environments folder"
    if explicit is None and os.environ.get(ENVIRONMENTS_VARIABLE):
        explicit = Path(os.environ[ENVIRONMENTS_VARIABLE]).expanduser()
        origin = ENVIRONMENTS_VARIABLE
    if explicit is not None:
        if not (explicit / BASE_FILE).is_file():
            raise ConfigError(
                f"{origin} {explicit}: no {BASE_FILE} there",
                hint=f"{ENVIRONMENTS_VARIABLE} names the folder holding {BASE_FILE} "
                "and one <env>.yaml per environment",
            )
        return explicit
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "environments" / BASE_FILE).is_file():
            return folder / "environments"
    if (INSTALL_ENVIRONMENTS / BASE_FILE).is_file():
        return INSTALL_ENVIRONMENTS
    raise ConfigError(
        f"no environments/ folder with {BASE_FILE} in {here} or any folder above it",
        hint=f"run opsctl inside the project, or set {ENVIRONMENTS_VARIABLE} to the "
        f"folder holding {BASE_FILE}",
    )


def available_environments(env_dir: Path) -> list[str]:
    """Names of the environments defined in ``env_dir`` (every YAML but base)."""
    return sorted(p.stem for p in env_dir.glob("*.yaml") if p.name != BASE_FILE)


def load_environment(
    name: str,
    env_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> EnvironmentConfig:
    """Return the validated config of environment ``name``.

    Raises :class:`ConfigError` (exit code 2) for an unknown environment,
    unreadable YAML, an unknown key, a wrong value or a bad ``OPSCTL_*`` variable.
    """
    env_dir = find_environments_dir(env_dir)
    known = available_environments(env_dir)
    if name not in known:
        raise ConfigError(
            f"unknown environment '{name}'; environments in {env_dir}: {', '.join(known)}"
        )
    layers = [
        _read_yaml(env_dir / BASE_FILE),
        _read_yaml(env_dir / f"{name}.yaml"),
        _overrides_from_environ(os.environ if environ is None else environ),
    ]
    merged: dict[str, Any] = {"name": name}
    for layer in layers:
        merged = deep_merge(merged, layer.data)
    try:
        return EnvironmentConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(
            _describe_validation_error(exc, layers, env_dir / f"{name}.yaml")
        ) from None


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else in ``override`` replaces ``base``."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> Layer:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{where}: invalid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of keys, not {type(data).__name__}"
        )
    if "name" in data:
        raise ConfigError(f"{path}: 'name' is set by the file name, remove the key")
    return Layer(str(path), data)


def _overrides_from_environ(environ: Mapping[str, str]) -> Layer:
    """``OPSCTL_NETWORK__PORT_BASE=19000`` -> ``{"network": {"port_base": 19000}}``.

    A text field (a string, a path, a choice of strings) keeps the value exactly as
    typed (``no``, ``0123``, ``a # b`` and quotes stay text); any other value is
    parsed as YAML, so numbers, booleans, lists and mappings keep their type.
    """
    data: dict[str, Any] = {}
    origins: dict[tuple[str, ...], str] = {}
    for variable, raw in sorted(environ.items()):
        if not variable.startswith(ENV_PREFIX) or variable in RESERVED_VARIABLES:
            continue
        if variable.startswith(RESERVED_PREFIXES):
            continue
        path = [part.lower() for part in variable[len(ENV_PREFIX) :].split("__")]
        if any(not part for part in path):
            raise ConfigError(f"{variable}: empty key segment; use '__' between keys")
        value = _typed_value(raw, path)
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
        origins[tuple(path)] = variable
    return Layer("environment variables (OPSCTL_*)", data, origins)


def _typed_value(raw: str, path: list[str]) -> Any:
    if raw == "" or holds_text(annotation_at(EnvironmentConfig, path)):
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def _describe_validation_error(exc: ValidationError, layers: list[Layer], env_file: Path) -> str:
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        source = _source_of(loc, layers) or str(env_file)
        key = ".".join(loc) or "(top level)"
        if error["type"] == "extra_forbidden":
            allowed = allowed_keys_at(EnvironmentConfig, loc[:-1])
            lines.append(f"{source}: unknown key '{key}'; allowed here: {', '.join(allowed)}")
        else:
            message = error["msg"].removeprefix("Value error, ")
            if message.startswith(PRODUCTION_RULES_BROKEN):
                lines.extend(_broken_production_rules(message, layers, env_file))
                continue
            # a rule across keys names its own key at the start of the message
            lines.append(f"{source}: {key}: {message}" if loc else f"{source}: {message}")
    return "invalid configuration\n  " + "\n  ".join(lines)


def _broken_production_rules(message: str, layers: list[Layer], env_file: Path) -> list[str]:
    """One line per broken production rule (``aws.<key>: <why>``), each naming the file
    or variable that set that key (the environment file when none did)."""
    lines = []
    for rule in message.removeprefix(PRODUCTION_RULES_BROKEN).split("; "):
        key, _, why = rule.partition(": ")
        source = _source_of(key.split("."), layers) or str(env_file)
        lines.append(f"{source}: {key}: production rule broken: {why}")
    return lines


def _source_of(loc: list[str], layers: list[Layer]) -> str | None:
    """The label of the last layer that sets the key path ``loc``."""
    for layer in reversed(layers):
        node: Any = layer.data
        found = True
        for part in loc:
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            else:
                found = False
                break
        if found and loc:
            for path, variable in layer.origins.items():
                if path[: len(loc)] == tuple(loc):
                    return variable
            return layer.label
    return None
