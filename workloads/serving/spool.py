"""A write-ahead spool on local disk: records are safe before the caller goes on.

One folder serves every process of a service; each process writes its own
segment files (``workloads.serving.segments``: ``<writer>.lock`` held while the
writer lives, ``<writer>-<seq>.open`` while it appends, ``.ready`` once sealed),
so several workers never share a file, and the kernel releasing a dead writer's
lock (``kill -9`` included) tells the others they may take its segments. Only a
record being written when its process died can be torn; :func:`read_segment`
stops at it, and it was never acknowledged.

Durability: :meth:`Spool.append` adds a record and returns its ticket;
:meth:`Spool.wait` (or :meth:`Spool.wait_async`) returns once the record is
acknowledged, and raises :class:`SpoolError` when the disk refused it. When that
is, and when ``fsync`` is called, is the spool's :data:`FSYNC` policy; one syncer
thread per process does the ``fsync`` calls and seals full segments:

- ``everysec`` (the default): the caller writes the record to its segment and
  it is acknowledged at once, with no hand-off between threads; the syncer calls
  ``fsync`` within ``fsync_interval_s`` (1 s) and before sealing. A written record
  is in the page cache, which outlives the process: a crash or ``kill -9`` of the
  service loses nothing acknowledged; a crash of the machine can lose the last
  second (Redis's ``appendfsync everysec``, PostgreSQL's ``synchronous_commit = off``).
- ``always``: the syncer writes every queued record with one ``write`` and one
  ``fsync`` (group commit) before they are acknowledged: a machine crash loses
  nothing either, and each request waits for the disk (``benchmarks/RESULTS.md``).

Bound: an append that would take the folder past ``max_bytes`` raises
:class:`SpoolFull`. The folder's size is measured by :meth:`Spool.measure`
(the uploader calls it every cycle) plus what this process appended since, so
with several writers it can pass ``max_bytes`` by what they append in one cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock

from workloads.serving.segments import (
    LOCK,
    OPEN,
    READY,
    frame,
    fsync_dir,
    takeable,
)
from workloads.serving.segments import read_segment as read_segment
from workloads.serving.segments import writer_of as writer_of

log = logging.getLogger(__name__)


FSYNC = ("everysec", "always")
"""The spool's ``fsync`` policies (see the module docstring)."""


class SpoolFull(Exception):
    """The spool holds ``max_bytes`` already; the record was not written."""


class SpoolError(OSError):
    """A record could not be made durable (the disk refused a write or an fsync)."""


class Spool:
    """This process's writer of the spool in ``folder`` (see the module docstring).

    ``max_bytes``: the bound of the whole folder; ``segment_bytes``: a segment
    is sealed once it holds this much. :meth:`open` before use, :meth:`close`
    after.
    """

    def __init__(
        self,
        folder: Path,
        max_bytes: int,
        segment_bytes: int = 8 << 20,
        on_sync: Callable[[], None] = lambda: None,
        fsync: str = "everysec",
        fsync_interval_s: float = 1.0,
    ) -> None:
        if fsync not in FSYNC:
            raise ValueError(f"fsync policy {fsync!r} is not one of {', '.join(FSYNC)}")
        self.folder, self.max_bytes, self.segment_bytes = Path(folder), max_bytes, segment_bytes
        self.on_sync = on_sync
        self.fsync, self.fsync_interval_s = fsync, fsync_interval_s
        self._unsynced_since: float | None = None  # first write not yet covered by fsync
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.writer = f"{stamp}-{os.getpid()}-{secrets.token_hex(4)}"
        self._lock = FileLock(self.folder / f"{self.writer}{LOCK}", thread_local=False)
        self._cond = threading.Condition()
        self._fd: int | None = None
        self._path: Path | None = None
        self._opened_at = 0.0
        self._pending: list[bytes] = []  # framed records appended, not yet written
        # _size: bytes of the open segment, written and pending; _written: written
        self._seq = self._size = self._written = self._used = 0
        self._appended = self._synced = 0
        self._failed: list[tuple[int, int, OSError]] = []
        self._seal_wanted = self._stopping = False
        # segments taken off writing, waiting for the syncer to seal them
        self._detached: list[tuple[int, Path]] = []
        self._detached_total = self._sealed = 0
        self._sealing = False  # the syncer is sealing what seal() asked for
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._syncer: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------

    def open(self) -> None:
        """Create the folder (0700), take this writer's lock, start the syncer."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock.acquire(timeout=0)
        self.measure()
        self._syncer = threading.Thread(target=self._sync_loop, name="spool-sync", daemon=True)
        self._syncer.start()

    def close(self) -> None:
        """Seal the open segment, stop the syncer, release the lock. Sealed segments stay."""
        self.seal()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._syncer is not None:
            self._syncer.join()
        # unlinked while held: whoever opened it before sees a dead writer, rightly
        (self.folder / f"{self.writer}{LOCK}").unlink(missing_ok=True)
        self._lock.release()

    # -- writing ------------------------------------------------------------------

    @property
    def used_bytes(self) -> int:
        """Bytes in the folder, as last measured plus this process's appends since."""
        return self._used

    def append(self, payload: bytes) -> int:
        """Add one record (written now with ``everysec``, queued for the syncer with
        ``always``); its ticket for :meth:`wait`. Raises :class:`SpoolFull` when full,
        :class:`SpoolError` when the disk refuses the write; nothing is added then."""
        record = frame(payload)
        with self._cond:
            if self._used + len(record) > self.max_bytes:
                raise SpoolFull(f"{self.folder} holds {self._used} of {self.max_bytes} bytes")
            if self.fsync == "always":
                self._pending.append(record)
            else:
                self._write_now(record)
            self._appended += 1
            self._size += len(record)
            self._used += len(record)
            if self.fsync == "always":
                self._seal_wanted = self._seal_wanted or self._size >= self.segment_bytes
                self._cond.notify_all()
                return self._appended
            self._synced = self._appended  # acknowledged once written
            if self._size >= self.segment_bytes:
                self._detach()  # the record that filled it is its last
                self._cond.notify_all()
            elif self._unsynced_since is None:
                self._unsynced_since = time.monotonic()
                self._cond.notify_all()  # the syncer arms its fsync timer
            return self._appended

    def _write_now(self, record: bytes) -> None:
        """Write ``record`` to the open segment (begun if none is), holding the lock."""
        try:
            self._write(self._fd if self._fd is not None else self._new_segment(), record)
        except OSError as exc:
            raise SpoolError(exc.errno, f"spool write to {self._path} failed: {exc}") from exc

    def _detach(self) -> None:
        """Take the open segment off writing (the lock held); the syncer seals it."""
        if self._fd is None or self._path is None:
            return
        self._detached.append((self._fd, self._path))
        self._detached_total += 1
        self._fd = self._path = None
        self._size -= self._written
        self._written = 0

    def _new_segment(self) -> int:
        self._seq += 1
        path = self.folder / f"{self.writer}-{self._seq:06d}{OPEN}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fsync_dir(self.folder)
        with self._cond:
            self._fd, self._path, self._opened_at = fd, path, time.monotonic()
        return fd

    def _write(self, fd: int, data: bytes) -> None:
        """Write ``data`` (whole records) at the segment's end; on failure the segment
        is cut back to its last whole record (a torn one would hide every later one)."""
        view, written = memoryview(data), 0
        try:
            while written < len(data):
                written += os.write(fd, view[written:])
        except OSError:
            try:
                os.ftruncate(fd, self._written)
            except OSError:
                log.exception("spool segment %s could not be cut back", self._path)
                with self._cond:  # a record after the torn one would be hidden by it
                    self._detach()
                    self._cond.notify_all()
            raise
        self._written += len(data)

    def wait(self, ticket: int) -> None:
        """Block until record ``ticket`` is acknowledged (see the module docstring);
        raises SpoolError if its write or fsync failed."""
        with self._cond:
            while self._synced < ticket:
                self._cond.wait()
            self._raise_if_failed(ticket)

    async def wait_async(self, ticket: int) -> None:
        """:meth:`wait` for the event loop: the loop runs on while the disk syncs."""
        with self._cond:
            if self._synced >= ticket:
                self._raise_if_failed(ticket)
                return
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((ticket, loop, future))
        await future

    def _raise_if_failed(self, ticket: int) -> None:
        for first, last, exc in self._failed:
            if first <= ticket <= last:
                raise SpoolError(exc.errno, f"spool write or fsync failed: {exc}")

    # -- the syncer thread ----------------------------------------------------------

    def _sync_loop(self) -> None:
        while True:
            with self._cond:
                while not (self._pending or self._seal_wanted or self._detached
                           or self._stopping or self._fsync_due()):  # fmt: skip
                    self._cond.wait(self._until_fsync())
                if (self._stopping and not (self._pending or self._seal_wanted or self._detached)
                        and self._unsynced_since is None):  # fmt: skip
                    return
                batch, self._pending = self._pending, []
                first, target = self._synced + 1, self._appended
                sealing, self._seal_wanted = self._seal_wanted, False
                self._sealing = sealing
                flush = self.fsync == "always" or self._stopping or self._fsync_due()
                if flush:  # what is written from here on waits for the next fsync
                    self._unsynced_since = None
            error = self._sync(batch, sealing, flush)
            self._synced_through(first, target, error)

    def _fsync_due(self) -> bool:
        since = self._unsynced_since
        return since is not None and time.monotonic() - since >= self.fsync_interval_s

    def _until_fsync(self) -> float | None:
        """Seconds the syncer may sleep before an ``fsync`` is due (None: none is)."""
        if self._unsynced_since is None:
            return None
        return max(0.0, self._unsynced_since + self.fsync_interval_s - time.monotonic())

    def _sync(self, batch: list[bytes], sealing: bool, flush: bool) -> OSError | None:
        """Write ``batch`` (to a new segment if none is open), ``fsync`` if ``flush``,
        then seal what is taken off writing (the open one too if ``sealing``)."""
        error: OSError | None = None
        try:
            fd = self._fd
            if batch:
                fd = self._write_batch(fd, b"".join(batch))
            if flush and fd is not None:
                os.fsync(fd)
                self.on_sync()
        except OSError as exc:
            error = exc
        if sealing:
            with self._cond:
                self._detach()
        error = self._seal_detached() or error
        with self._cond:
            self._sealing = False
            self._cond.notify_all()
        if error is not None:
            # an fsync that failed is not retried: Linux may have dropped the pages
            # it could not write and report the next fsync as a success
            log.error("spool write, fsync or seal in %s failed: %s", self.folder, error)
        return error

    def _seal_detached(self) -> OSError | None:
        """Sync, close and rename to ``.ready`` every segment taken off writing."""
        with self._cond:
            segments, self._detached = self._detached, []
        first_error: OSError | None = None
        for fd, path in segments:
            try:
                try:
                    os.fsync(fd)  # every record written to it, whoever wrote it
                    self.on_sync()
                finally:
                    os.close(fd)
                path.rename(path.with_suffix(READY))
                fsync_dir(self.folder)
            except OSError as exc:
                first_error = first_error or exc
            finally:
                with self._cond:
                    self._sealed += 1
                    self._cond.notify_all()
        return first_error

    def _write_batch(self, fd: int | None, data: bytes) -> int:
        """Write ``data`` to segment ``fd`` (a new one when None); the segment's fd.
        Bytes that could not be written are no longer counted as spooled."""
        try:
            fd = fd if fd is not None else self._new_segment()
            self._write(fd, data)
        except OSError:
            with self._cond:
                self._size -= len(data)
                self._used -= len(data)
            raise
        return fd

    def _synced_through(self, first: int, target: int, error: OSError | None) -> None:
        with self._cond:
            if error is not None and first <= target:
                self._failed = [*self._failed[-99:], (first, target, error)]
            if error is not None and self._fd is not None:
                self._seal_wanted = True  # after a failure, start a fresh segment
            self._synced = max(self._synced, target)
            done = [w for w in self._waiters if w[0] <= target]
            self._waiters = [w for w in self._waiters if w[0] > target]
            self._cond.notify_all()
        for ticket, loop, future in done:
            failed = error is not None and first <= ticket
            loop.call_soon_threadsafe(_settle, future, error if failed else None)

    # -- segments -----------------------------------------------------------------

    def seal(self) -> None:
        """Seal the open segment now (if it holds anything); returns once it is renamed."""
        with self._cond:
            if self.fsync == "always":
                if self._fd is None and not self._pending:
                    return
                self._seal_wanted = True  # the syncer writes what waits, then seals
            else:
                self._detach()
            self._cond.notify_all()
            while (self._seal_wanted or self._sealing or self._sealed < self._detached_total) and (
                self._syncer is not None and self._syncer.is_alive()
            ):
                self._cond.wait(1.0)

    def open_age(self) -> float:
        """Seconds since the open segment received its first record (0: none open)."""
        with self._cond:
            return time.monotonic() - self._opened_at if self._fd is not None else 0.0

    def measure(self) -> int:
        """Re-measure the folder (every process's segments); returns the bytes."""
        total = 0
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if entry.name.endswith((OPEN, READY)):
                    with contextlib.suppress(FileNotFoundError):  # taken away meanwhile
                        total += entry.stat().st_size
        with self._cond:
            # this process's open segment may have grown since the scan began
            self._used = total
        return total

    def ready(self) -> list[Path]:
        """Sealed segments this process may take away: its own, and every segment of a
        writer that died (an open one is first cut to its whole records and sealed)."""
        return takeable(self.folder, self.writer)

    def delete(self, path: Path) -> None:
        """Remove a segment whose records are safe elsewhere."""
        try:
            path.unlink()
        except FileNotFoundError:  # another process took it away too
            return
        fsync_dir(self.folder)


def _settle(future: asyncio.Future[None], error: OSError | None) -> None:
    if not future.done():
        failed = error and SpoolError(error.errno, f"spool write or fsync failed: {error}")
        future.set_exception(failed) if failed else future.set_result(None)
