"""The write-ahead spool: records are on disk when acknowledged, several processes
write one folder at once, a killed writer loses no acknowledged record, a torn
last record is dropped, a failed write leaves no torn record, and the bound
holds."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from workloads.serving import spool as spool_module
from workloads.serving.spool import READY, Spool, SpoolFull, frame, read_segment


def all_records(folder: Path) -> list[bytes]:
    return [r for p in sorted(folder.glob("*.ready")) for r in read_segment(p)[0]]


@pytest.mark.parametrize("fsync", ["everysec", "always"])
def test_an_acknowledged_record_is_in_its_segment_before_the_seal(tmp_path, fsync) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20, fsync=fsync)
    spool.open()
    try:
        first = spool.append(b"one")
        spool.wait(first)
        second = spool.append(b"two")
        asyncio.run(spool.wait_async(second))
        [segment] = tmp_path.glob("*.open")
        assert read_segment(segment) == ([b"one", b"two"], segment.stat().st_size)
    finally:
        spool.close()
    assert not list(tmp_path.glob("*.open")) and not list(tmp_path.glob("*.lock"))
    assert all_records(tmp_path) == [b"one", b"two"]


@pytest.mark.parametrize("fsync", ["everysec", "always"])
def test_a_full_segment_is_sealed_and_a_new_one_begun(tmp_path, fsync) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=100, fsync=fsync)
    spool.open()
    try:
        for i in range(10):
            spool.wait(spool.append(b"x" * 40 + bytes([i])))
    finally:
        spool.close()
    sizes = [p.stat().st_size for p in sorted(tmp_path.glob("*.ready"))]
    assert sizes == [147, 147, 147, 49]  # sealed at the record that reached 100 bytes
    assert [r[-1] for r in all_records(tmp_path)] == list(range(10))


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from workloads.serving.spool import Spool

    folder, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    spool = Spool(folder, max_bytes=1 << 30, segment_bytes=2000)
    spool.open()
    for i in range(count):
        spool.wait(spool.append(f"{name}:{i}".encode()))
        print(f"{name}:{i}", flush=True)  # acknowledged
    spool.close()
    """
)


def test_writers_share_a_folder_and_a_killed_one_loses_no_acknowledged_record(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writers = {
        name: subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), name, "400"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in ("a", "b", "c")
    }
    acknowledged = set()
    victim = writers["b"]
    assert victim.stdout is not None
    for _ in range(150):
        acknowledged.add(victim.stdout.readline().strip())
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    acknowledged |= {line.strip() for line in victim.stdout}
    for name in ("a", "c"):
        out, _ = writers[name].communicate(timeout=60)
        assert writers[name].returncode == 0
        acknowledged |= set(out.split())
    # the writers that closed left only sealed segments; the killed one its open ones
    # (two when it had just filled one: a full segment waits for the syncer to seal it)
    left_open = list(tmp_path.glob("*.open"))
    assert left_open and all(f"-{victim.pid}-" in p.name for p in left_open), left_open

    survivor = Spool(tmp_path, max_bytes=1 << 30)
    survivor.open()
    try:
        ready = survivor.ready()  # seals the dead writer's open segment
    finally:
        survivor.close()
    records = [r.decode() for p in ready for r in read_segment(p)[0]]
    assert len(records) == len(set(records)), "a record was written twice"
    assert acknowledged <= set(records)
    assert {r for r in records if not r.startswith("b:")} == {
        f"{n}:{i}" for n in "ac" for i in range(400)
    }
    assert not list(tmp_path.glob("*.open"))


def test_a_live_writers_segments_are_left_to_it(tmp_path) -> None:
    first, second = Spool(tmp_path, 1 << 20), Spool(tmp_path, 1 << 20)
    first.open()
    second.open()
    try:
        first.wait(first.append(b"mine"))
        first.seal()
        assert second.ready() == []
        assert [p.name.startswith(first.writer) for p in first.ready()] == [True]
    finally:
        first.close()
        second.close()


def test_a_torn_last_record_is_dropped_and_the_whole_ones_kept(tmp_path) -> None:
    dead = "20240101T000000-1-deadbeef"
    segment = tmp_path / f"{dead}-000001.open"
    whole = frame(b"first") + frame(b"second")
    segment.write_bytes(whole + frame(b"third, cut short")[:9])
    spool = Spool(tmp_path, 1 << 20)
    spool.open()
    try:
        [ready] = spool.ready()
    finally:
        spool.close()
    assert ready.suffix == READY and ready.stat().st_size == len(whole)
    assert read_segment(ready)[0] == [b"first", b"second"]


def test_a_corrupt_record_ends_the_segment(tmp_path) -> None:
    data = bytearray(frame(b"good") + frame(b"flipped") + frame(b"after"))
    data[len(frame(b"good")) + 9] ^= 0xFF
    path = tmp_path / "w-000001.ready"
    path.write_bytes(bytes(data))
    assert read_segment(path) == ([b"good"], len(frame(b"good")))


@pytest.mark.parametrize("fsync", ["everysec", "always"])
def test_a_failed_write_leaves_no_torn_record(tmp_path, fsync, monkeypatch) -> None:
    spool = Spool(tmp_path, 1 << 20, fsync=fsync)
    spool.open()
    real_write = os.write

    calls = []

    def half_then_enospc(fd: int, data) -> int:  # what a filling disk does
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    try:
        spool.wait(spool.append(b"before"))
        monkeypatch.setattr(spool_module.os, "write", half_then_enospc)
        with pytest.raises(spool_module.SpoolError, match="No space left"):
            spool.wait(spool.append(b"refused"))
        monkeypatch.setattr(spool_module.os, "write", real_write)
        spool.wait(spool.append(b"after"))
    finally:
        spool.close()
    assert all_records(tmp_path) == [b"before", b"after"]


@pytest.mark.parametrize("fsync", ["everysec", "always"])
def test_the_bound_counts_bytes_of_every_writer(tmp_path, fsync) -> None:
    (tmp_path / "other-000001.ready").write_bytes(b"z" * 900)
    spool = Spool(tmp_path, max_bytes=1000, fsync=fsync)
    spool.open()
    try:
        spool.wait(spool.append(b"y" * 50))  # 58 bytes framed: 958 in all
        with pytest.raises(SpoolFull):
            spool.append(b"y" * 50)
        (tmp_path / "other-000001.ready").unlink()
        spool.measure()
        spool.wait(spool.append(b"y" * 50))
    finally:
        spool.close()


def _counting_fsync(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(spool_module.os, "fsync", fsync)
    return calls


def test_everysec_acknowledges_once_written_and_syncs_within_the_interval(
    tmp_path, monkeypatch
) -> None:
    synced = _counting_fsync(monkeypatch)
    spool = Spool(tmp_path, 1 << 20, fsync="everysec", fsync_interval_s=0.3)
    spool.open()
    try:
        spool.wait(spool.append(b"one"))
        [segment] = tmp_path.glob("*.open")
        assert read_segment(segment)[0] == [b"one"]  # in the page cache: outlives the process
        assert len(synced) <= 1  # at most the new segment's folder, never the record yet
        before = len(synced)
        deadline = time.monotonic() + 10
        while len(synced) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(synced) > before, "no fsync within the interval"
    finally:
        spool.close()
    assert all_records(tmp_path) == [b"one"]


def test_always_acknowledges_only_after_an_fsync(tmp_path, monkeypatch) -> None:
    synced = _counting_fsync(monkeypatch)
    spool = Spool(tmp_path, 1 << 20, fsync="always", fsync_interval_s=3600)
    spool.open()
    try:
        spool.wait(spool.append(b"one"))
        fd_syncs = len(synced)
        spool.wait(spool.append(b"two"))
        assert len(synced) == fd_syncs + 1  # the second record's own fsync, before its answer
    finally:
        spool.close()


def test_an_unknown_fsync_policy_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="'sometimes' is not one of everysec, always"):
        Spool(tmp_path, 1 << 20, fsync="sometimes")


@pytest.mark.parametrize("fsync", ["everysec", "always"])
def test_a_torn_record_that_cannot_be_cut_back_ends_its_segment(
    tmp_path, monkeypatch, fsync
) -> None:
    """The disk refuses the rest of a record and then its removal: the next record
    goes to a fresh segment, where the torn one cannot hide it."""
    spool = Spool(tmp_path, 1 << 20, fsync=fsync)
    spool.open()
    real_write, real_truncate = os.write, os.ftruncate
    calls = []

    def half_then_eio(fd: int, data) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(5, "Input/output error")

    def refuse(fd: int, size: int) -> None:
        raise OSError(5, "Input/output error")

    try:
        spool.wait(spool.append(b"before"))
        monkeypatch.setattr(spool_module.os, "write", half_then_eio)
        monkeypatch.setattr(spool_module.os, "ftruncate", refuse)
        with pytest.raises(spool_module.SpoolError, match="Input/output error"):
            spool.wait(spool.append(b"torn"))
        monkeypatch.setattr(spool_module.os, "write", real_write)
        monkeypatch.setattr(spool_module.os, "ftruncate", real_truncate)
        spool.wait(spool.append(b"after"))
    finally:
        spool.close()
    assert all_records(tmp_path) == [b"before", b"after"]
