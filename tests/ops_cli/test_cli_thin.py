"""A thin CLI: every function of ``ops_cli/cli`` (commands and their helpers) stays
under 40 lines; what a command decides lives in the core, where it is tested without
the command line."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

MAX_LINES = 40


def long_functions(root: Path = REPO / "ops_cli" / "cli", limit: int = MAX_LINES) -> list[str]:
    """``path:line name (N lines)`` for every function of ``root`` of ``limit`` lines or
    more, its signature, docstring and decorators counted."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = (node.end_lineno or node.lineno) - first + 1
                if lines >= limit:
                    where = path.relative_to(root.parent)
                    found.append(f"{where}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_every_cli_function_is_under_forty_lines() -> None:
    assert (REPO / "ops_cli" / "cli" / "commands" / "platform.py").exists()
    assert long_functions() == []


def test_the_check_counts_a_command_from_its_decorator_to_its_last_line(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES - 3))
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "mod.py").write_text(
        f"@app.command()\ndef short():\n{body}\n\n@app.command()\ndef long():\n{body}    y = 0\n"
    )
    assert long_functions(tmp_path / "cli") == ["cli/mod.py:43 long (40 lines)"]
