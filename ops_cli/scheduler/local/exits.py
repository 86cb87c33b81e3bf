"""How a local program ended, in words: for ``up``'s failure and ``status``."""

from __future__ import annotations

import re
from pathlib import Path

from ops_cli.scheduler.local.logfiles import tail_lines
from ops_cli.scheduler.local.supervisor_client import ProcessInfo
from ops_cli.scheduler.local.supervisor_conf import START_RETRIES, START_SECONDS


def fatal_reason(info: ProcessInfo, supervisord_log: Path) -> str:
    """Why supervisord gave up on a FATAL program, with how its last run ended."""
    ended = last_exit(supervisord_log, info.name) or info.outcome
    return (
        f"crashed {START_RETRIES + 1} times within {START_SECONDS}s of starting and was "
        f"given up ({ended})"
    )


def last_exit(supervisord_log: Path, name: str) -> str | None:
    """How program ``name`` last exited as supervisord logged it ("exit status 3",
    "terminated by SIGKILL"): supervisord keeps no exit status for a start that
    failed, its log does."""
    pattern = re.compile(rf" exited: {re.escape(name)} \((.*?)(?:; (?:not )?expected)?\)$")
    for line in reversed(tail_lines(supervisord_log, 400)):
        if match := pattern.search(line):
            return match.group(1)
    return None
