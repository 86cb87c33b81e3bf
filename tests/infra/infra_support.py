"""Helpers of the infrastructure tests: paths, configs, parsed HCL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2

from ops_cli.config import load_environment
from ops_cli.config.models import EnvironmentConfig

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
PLATFORM = REPO / "platform"
CLOUD_ENVIRONMENTS = ("staging", "prod")
TEST_CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-test"


def cloud_config(name: str) -> EnvironmentConfig:
    """``environments/<name>.yaml`` with a test certificate (the YAML names none)."""
    return load_environment(
        name, REPO / "environments", {"OPSCTL_AWS__CERTIFICATE_ARN": TEST_CERTIFICATE}
    )


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string quotes and block markers; drop both."""
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse_dir(folder: Path) -> dict[str, list[Any]]:
    """Every top-level block of the ``.tf`` files in ``folder``, by block kind."""
    blocks: dict[str, list[Any]] = {}
    for path in sorted(folder.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            for kind, items in unquote(hcl2.load(handle)).items():
                blocks.setdefault(kind, []).extend(items)
    return blocks


def resources(folder: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """``(type, name, body)`` of every managed resource in ``folder``."""
    found = []
    for item in parse_dir(folder).get("resource", []):
        for rtype, named in item.items():
            for name, body in named.items():
                found.append((rtype, name, body))
    return found


def module_dirs(root: Path) -> list[Path]:
    """``root`` and every local module it calls, transitively."""
    seen: list[Path] = []
    pending = [root.resolve()]
    while pending:
        folder = pending.pop()
        if folder in seen:
            continue
        seen.append(folder)
        for item in parse_dir(folder).get("module", []):
            for body in item.values():
                pending.append((folder / body["source"]).resolve())
    return seen


def module_resources() -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """Resources of every module under terraform/modules, by module name."""
    return {d.name: resources(d) for d in sorted((TERRAFORM / "modules").iterdir()) if d.is_dir()}


def first(block: Any) -> dict[str, Any]:
    """A nested block as python-hcl2 gives it (a list of one dict), or the dict itself."""
    return block[0] if isinstance(block, list) else block
