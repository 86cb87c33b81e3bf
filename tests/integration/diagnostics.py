"""What a failing integration test shows of the platforms that were up: their logs,
read before the fixtures' ``down --purge`` deletes them."""

from __future__ import annotations

from pathlib import Path

PLATFORMS_UP: set[Path] = set()
"""Root state folders of the platforms up right now (a failing test shows their logs)."""
LOG_TAIL_LINES = 30


def log_tails(root: Path) -> str:
    """The last lines of every service log under ``root`` (one platform's state)."""
    parts = []
    for log in sorted(root.glob("*/logs/*.log")):
        try:
            lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        except OSError:
            continue
        parts.append(f"== {log.relative_to(root)}\n" + "\n".join(line[:300] for line in lines))
    return "\n".join(parts)
