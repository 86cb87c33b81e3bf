"""Small modules: no source module of the product is over 400 lines.

A module past that size holds more than one idea; split it (re-exporting what callers
import) rather than raise the limit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("ops_cli", "workloads", "ml", "platform")
MAX_LINES = 400


def oversized(root: Path = REPO, limit: int = MAX_LINES) -> list[str]:
    """``path: N lines`` for every ``.py`` file under the packages longer than ``limit``."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            lines = len(path.read_text().splitlines())
            if lines > limit:
                found.append(f"{path.relative_to(root)}: {lines} lines")
    return found


def test_no_source_module_is_over_the_limit() -> None:
    assert all((REPO / package).is_dir() for package in PACKAGES)
    assert oversized() == []


@pytest.mark.parametrize(("lines", "reported"), [(MAX_LINES, False), (MAX_LINES + 1, True)])
def test_the_check_reports_a_module_one_line_past_the_limit(
    tmp_path: Path, lines: int, reported: bool
) -> None:
    (tmp_path / "ml" / "sub").mkdir(parents=True)
    (tmp_path / "ml" / "sub" / "big.py").write_text("x = 1\n" * lines)
    assert bool(oversized(tmp_path)) is reported
