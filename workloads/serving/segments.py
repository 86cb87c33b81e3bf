"""Spool segment files: their records, their names, and taking over a dead writer's.

A segment is a run of records, each a 4-byte little-endian payload length, the
payload's 4-byte CRC-32 and the payload; its file is ``<writer>-<seq>.open`` while
its writer appends to it and ``<writer>-<seq>.ready`` once sealed; ``<writer>.lock``
is held (an ``flock``) for as long as the writer lives (``workloads.serving.spool``).
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)
HEADER = struct.Struct("<II")
OPEN, READY, LOCK = ".open", ".ready", ".lock"


def frame(payload: bytes) -> bytes:
    """``payload`` as one record: length, CRC-32, payload."""
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_segment(path: Path) -> tuple[list[bytes], int]:
    """The whole records of segment ``path`` and the length they span (bytes after
    it are a torn record). Raises FileNotFoundError when the segment is gone."""
    data = path.read_bytes()
    records, at = [], 0
    while at + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, at)
        end = at + HEADER.size + length
        payload = data[at + HEADER.size : end]
        if end > len(data) or zlib.crc32(payload) != crc:
            break
        records.append(payload)
        at = end
    return records, at


def fsync_dir(folder: Path) -> None:
    """Sync ``folder``: a created, renamed or deleted file name is durable only then."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def writer_of(path: Path) -> str:
    """The writer id in a segment's file name."""
    return path.name.rsplit("-", 1)[0]


def takeable(folder: Path, writer: str) -> list[Path]:
    """Sealed segments in ``folder`` that ``writer`` may take away: its own, and every
    segment of a writer that died (an open one is first cut to its whole records and
    sealed), in name order."""
    names = [p.name for p in folder.iterdir()]
    writers = {n.rsplit("-", 1)[0] for n in names if n.endswith((OPEN, READY))}
    writers |= {n.removesuffix(LOCK) for n in names if n.endswith(LOCK)}
    takers = {writer} | {w for w in sorted(writers - {writer}) if _recover(folder, w)}
    ready = [p for p in folder.glob(f"*{READY}") if writer_of(p) in takers]
    return sorted(ready, key=lambda p: p.name)


def _recover(folder: Path, writer: str) -> bool:
    """True when ``writer`` is dead: its open segments are then sealed, and its
    lock file removed once it has no segment left."""
    lock_path = folder / f"{writer}{LOCK}"
    lock = FileLock(lock_path, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    try:
        for path in _segments_of(folder, writer, OPEN):
            _seal_orphan(folder, path)
        if not _segments_of(folder, writer, READY):
            lock_path.unlink(missing_ok=True)
    finally:
        lock.release()
    return True


def _segments_of(folder: Path, writer: str, suffix: str) -> list[Path]:
    return sorted(p for p in folder.glob(f"*{suffix}") if writer_of(p) == writer)


def _seal_orphan(folder: Path, path: Path) -> None:
    try:
        _records, whole = read_segment(path)
        size = path.stat().st_size
        if whole < size:
            log.warning("spool: dropping a torn record (%d bytes) at the end of %s",
                        size - whole, path.name)  # fmt: skip
            os.truncate(path, whole)
        path.rename(path.with_suffix(READY))
        fsync_dir(folder)
    except FileNotFoundError:  # another process sealed it first
        pass
