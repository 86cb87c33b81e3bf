"""The import rules of the architecture, checked on every module's syntax tree (imports
inside functions and ``importlib.import_module("...")`` with a literal name included):

- ``ml`` imports nothing of ours (it is the modelling library; the workloads use it);
- ``ops_cli`` imports neither ``ml`` nor ``workloads`` (opsctl runs workloads as
  processes and talks to them over their APIs, so it installs without their extras);
- scheduler implementations stay behind the role: no module of ``ops_cli`` imports
  ``ops_cli.scheduler.local`` or ``ops_cli.scheduler.nomad`` except that implementation
  itself and the factory (``ops_cli/scheduler/factory.py``). What they share lives in
  ``ops_cli/scheduler/shared.py``; the optional abilities and their plan type beside
  ``ops_cli/scheduler/base.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

OURS = ("ops_cli", "workloads", "ml")
FORBIDDEN = {"ml": ("ops_cli", "workloads"), "ops_cli": ("ml", "workloads")}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute name ``from ... import`` reads from (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imported_names(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, wherever it sits."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            yield node.lineno, base
            for alias in node.names:  # `from ops_cli import x` may import module x
                yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value


def _is_dynamic_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ("import_module", "__import__")


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def violations(package: str, root: Path = REPO) -> list[str]:
    """``file:line imports name`` for every import that breaks ``package``'s rule."""
    found = []
    for path in sorted((root / package).rglob("*.py")):
        module = _module_name(path, root)
        for line, name in imported_names(path.read_text(), module, path.name == "__init__.py"):
            if _top(name) in FORBIDDEN[package]:
                found.append(f"{path.relative_to(root)}:{line} imports {name}")
    return sorted(set(found))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_the_package_keeps_its_import_rule(package: str) -> None:
    assert (REPO / package / "__init__.py").exists()
    assert violations(package) == []


@pytest.mark.parametrize(
    ("source", "module", "found"),
    [
        ("import workloads.serving\n", "ops_cli.x", "workloads.serving"),
        ("def f():\n    from ml.features import rows\n", "ops_cli.a.b", "ml.features"),
        ("import importlib\nimportlib.import_module('ml.data')\n", "ops_cli.x", "ml.data"),
        ("from ..data import schema\n", "ml.features.rows", "ml.data.schema"),
        ("from . import loader\n", "ops_cli.config", "ops_cli.config.loader"),
    ],
)
def test_the_check_sees_every_kind_of_import(source: str, module: str, found: str) -> None:
    is_package = module == "ops_cli.config"  # an __init__.py
    assert found in {name for _, name in imported_names(source, module, is_package)}


def test_a_broken_rule_is_reported_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "ops_cli" / "sub").mkdir(parents=True)
    (tmp_path / "ops_cli" / "__init__.py").write_text("")
    (tmp_path / "ops_cli" / "sub" / "mod.py").write_text(
        "import json\n\n\ndef load():\n    from workloads.serving.app import create_app\n"
    )
    assert violations("ops_cli", tmp_path) == [
        "ops_cli/sub/mod.py:5 imports workloads.serving.app",
        "ops_cli/sub/mod.py:5 imports workloads.serving.app.create_app",
    ]


IMPLEMENTATIONS = ("ops_cli.scheduler.local", "ops_cli.scheduler.nomad")
SCHEDULER_FACTORY = "ops_cli.scheduler.factory"


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def implementation_leaks(root: Path = REPO) -> list[str]:
    """``file:line imports name`` for every module of ``ops_cli`` that imports a
    scheduler implementation it is not part of (the factory excepted)."""
    found = []
    for path in sorted((root / "ops_cli").rglob("*.py")):
        module = _module_name(path, root)
        if module == SCHEDULER_FACTORY:
            continue
        for line, name in imported_names(path.read_text(), module, path.name == "__init__.py"):
            for implementation in IMPLEMENTATIONS:
                if _within(name, implementation) and not _within(module, implementation):
                    found.append(f"{path.relative_to(root)}:{line} imports {name}")
    return sorted(set(found))


def test_only_the_factory_imports_a_scheduler_implementation() -> None:
    assert (REPO / "ops_cli" / "scheduler" / "factory.py").exists()
    assert implementation_leaks() == []


def test_an_implementation_imported_by_generic_code_is_reported(tmp_path: Path) -> None:
    scheduler = tmp_path / "ops_cli" / "scheduler"
    (scheduler / "nomad").mkdir(parents=True)
    (scheduler / "local").mkdir()
    (tmp_path / "ops_cli" / "release.py").write_text(
        "def f():\n    from ops_cli.scheduler.nomad.abilities import Deployer\n"
    )
    (scheduler / "nomad" / "render.py").write_text("from ..local.workload import tool_path\n")
    (scheduler / "local" / "scheduler.py").write_text("from .workload import tool_path\n")
    (scheduler / "factory.py").write_text("from ops_cli.scheduler.local import scheduler\n")
    assert implementation_leaks(tmp_path) == [
        "ops_cli/release.py:2 imports ops_cli.scheduler.nomad.abilities",
        "ops_cli/release.py:2 imports ops_cli.scheduler.nomad.abilities.Deployer",
        "ops_cli/scheduler/nomad/render.py:1 imports ops_cli.scheduler.local.workload",
        "ops_cli/scheduler/nomad/render.py:1 imports ops_cli.scheduler.local.workload.tool_path",
    ]
