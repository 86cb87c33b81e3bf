"""State files, secrets and the environment lock."""

from __future__ import annotations

import json
import multiprocessing
import stat
import time
from pathlib import Path

import pytest

from ops_cli.errors import LockedError
from ops_cli.locking import environment_lock
from ops_cli.secrets import SecretStore
from ops_cli.state import StatePaths, read_json, write_json_atomic


def test_atomic_write_replaces_whole_file_with_private_mode(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"b": 2})
    assert read_json(target) == {"b": 2}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp file left


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_json_atomic(target, {"good": True})

    class Unserialisable:
        def __str__(self) -> str:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_json_atomic(target, {"bad": Unserialisable()})
    assert json.loads(target.read_text()) == {"good": True}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_state_dir_is_private(tmp_path: Path) -> None:
    paths = StatePaths(tmp_path / "env")
    paths.create()
    assert stat.S_IMODE(paths.root.stat().st_mode) == 0o700
    assert paths.lock_file.parent == tmp_path  # survives a purge of the state dir


def test_generated_secrets_are_0600_and_stable(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets.json", environ={})
    assert store.ensure_generated(["s3-access-key", "s3-secret-key"]) == [
        "s3-access-key",
        "s3-secret-key",
    ]
    first = store.require("s3-secret-key")
    assert store.ensure_generated(["s3-access-key", "s3-secret-key"]) == []
    assert store.require("s3-secret-key") == first
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600


def test_secret_from_the_environment_wins_and_is_not_generated(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets.json", environ={"OPSCTL_SECRET_SERVING_API_KEY": "k"})
    assert store.ensure_generated(["serving-api-key"]) == []
    assert store.require("serving-api-key") == "k"


def test_missing_secret_says_how_to_set_it(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets.json", environ={})
    with pytest.raises(Exception, match="OPSCTL_SECRET_DATABASE_PASSWORD"):
        store.require("database-password")


def _hold_lock(
    lock_file: str, ready: multiprocessing.Event, release: multiprocessing.Event
) -> None:
    with environment_lock(Path(lock_file), environment="local"):
        ready.set()
        release.wait(10)


def test_second_holder_fails_fast_naming_the_first(tmp_path: Path) -> None:
    lock_file = tmp_path / ".local.lock"
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(lock_file), ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(
            LockedError, match=rf"locked by another opsctl command \(pid {holder.pid}\)"
        ):
            with environment_lock(lock_file, environment="local"):
                pass
    finally:
        release.set()
        holder.join(10)
    with environment_lock(lock_file, environment="local"):
        pass  # free again once the holder is gone


def test_waiting_holder_gets_the_lock_when_it_is_released(tmp_path: Path) -> None:
    lock_file = tmp_path / ".local.lock"
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(lock_file), ready, release))
    holder.start()
    assert ready.wait(10)
    began = time.monotonic()
    multiprocessing.Process(target=lambda: (time.sleep(0.5), release.set())).start()
    with environment_lock(lock_file, environment="local", timeout_s=10):
        assert time.monotonic() - began >= 0.4
    holder.join(10)
