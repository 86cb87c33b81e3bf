"""Read workload log files: the last lines, then new lines as they are written."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path


def tail_lines(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of ``path`` (empty when the file does not exist)."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]
    except FileNotFoundError:
        return []


def follow_lines(path: Path, lines: int, poll_s: float = 0.25) -> Iterator[str]:
    """Yield the last ``lines`` lines, then every new line, until the caller stops.

    Survives rotation: when the file shrinks or is replaced it is reopened.
    """
    yield from tail_lines(path, lines)
    position = path.stat().st_size if path.exists() else 0
    buffer = ""
    while True:
        size = path.stat().st_size if path.exists() else 0
        if size < position:
            position = 0
        if size > position:
            with path.open("r", encoding="utf-8", errors="replace") as handle:
                handle.seek(position)
                buffer += handle.read()
                position = handle.tell()
            *complete, buffer = buffer.split("\n")
            yield from complete
        else:
            time.sleep(poll_s)
