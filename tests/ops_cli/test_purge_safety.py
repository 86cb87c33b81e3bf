"""``down --purge`` deletes only a folder opsctl created for the same environment.

Each refusal leaves a sentinel file that must survive; the command exits 2 naming
the folder and why. The commands run in-process (``ops_cli.cli.app.main``).
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ops_cli.cli.app import main
from ops_cli.errors import LockedError, RefusedError
from ops_cli.locking import environment_lock
from ops_cli.state import MARKER_NAME, StatePaths, check_purgeable


def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out + captured.err


@pytest.fixture
def operator(monkeypatch: pytest.MonkeyPatch, environments_dir: Path, tmp_path: Path) -> Path:
    """A clean operator environment: their own HOME and working folder, no OPSCTL_*."""
    import os

    for variable in list(os.environ):
        if variable.startswith("OPSCTL_"):
            monkeypatch.delenv(variable)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("OPSCTL_ENVIRONMENTS_DIR", str(environments_dir))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sentinel(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "precious.txt"
    file.write_text("the user's own file")
    return file


def mark(folder: Path, environment: str) -> None:
    (folder / MARKER_NAME).write_text(json.dumps({"environment": environment}))


def test_empty_state_dir_is_refused_not_the_current_folder(operator, monkeypatch, capsys) -> None:
    kept = sentinel(operator / "work")
    monkeypatch.chdir(operator / "work")
    monkeypatch.setenv("OPSCTL_STATE_DIR", "")
    code, output = run("down", "--purge", "--yes", capsys=capsys)
    assert code == 2, output
    assert "OPSCTL_STATE_DIR" in output and "is empty" in output
    assert kept.exists()


def test_relative_state_dir_is_refused(operator, monkeypatch, capsys) -> None:
    kept = sentinel(operator / "rel" / "local")
    mark(kept.parent, "local")
    monkeypatch.setenv("OPSCTL_STATE_DIR", "rel")
    code, output = run("down", "--purge", "--yes", capsys=capsys)
    assert code == 2, output
    assert "'rel' is a relative path" in output
    assert kept.exists()


def test_folder_without_marker_is_refused(operator, monkeypatch, capsys) -> None:
    kept = sentinel(operator / "mine" / "local")
    monkeypatch.setenv("OPSCTL_STATE_DIR", str(operator / "mine"))
    code, output = run("down", "--purge", "--yes", capsys=capsys)
    assert code == 2, output
    assert f"{kept.parent} was not created by opsctl (no {MARKER_NAME} marker" in output
    assert kept.exists()


def test_another_environments_folder_is_refused(operator, monkeypatch, capsys) -> None:
    kept = sentinel(operator / "states" / "local-prod")
    mark(kept.parent, "local")  # moved or copied: the marker names another environment
    monkeypatch.setenv("OPSCTL_STATE_DIR", str(operator / "states"))
    code, output = run("down", "--env", "local-prod", "--purge", "--yes", capsys=capsys)
    assert code == 2, output
    assert "belongs to environment 'local', not 'local-prod'" in output
    assert kept.exists()


def test_home_and_current_folder_are_refused_even_when_marked(
    operator, monkeypatch, capsys
) -> None:
    for label, variable in (("your home folder", "HOME"), ("the current folder", None)):
        root = operator / label.replace(" ", "-")
        folder = root / "local"
        kept = sentinel(folder)
        mark(folder, "local")
        if variable:
            monkeypatch.setenv(variable, str(folder))
        else:
            monkeypatch.chdir(folder)
        monkeypatch.setenv("OPSCTL_STATE_DIR", str(root))
        code, output = run("down", "--purge", "--yes", capsys=capsys)
        assert code == 2, output
        assert f"refusing to delete {folder}: it is {label}" in output
        assert kept.exists()


def test_root_home_and_their_parents_are_refused(tmp_path: Path) -> None:
    home = tmp_path / "home" / "user"
    cwd = tmp_path / "work"
    home.mkdir(parents=True)
    cwd.mkdir()
    cases = {
        Path("/"): "it is the root folder",
        tmp_path / "home": "it holds your home folder",
        tmp_path: "it holds your home folder",
        Path(""): "an empty or relative path",
        Path("state/local"): "an empty or relative path",
    }
    for folder, reason in cases.items():
        with pytest.raises(RefusedError, match=reason):
            check_purgeable(StatePaths(folder, "local"), cwd=cwd, home=home)


def test_purge_deletes_everything_the_environment_owns(operator, monkeypatch, capsys) -> None:
    root = operator / "states"
    monkeypatch.setenv("OPSCTL_STATE_DIR", str(root))
    other = StatePaths(root / "local-prod")
    other.create()
    kept = sentinel(other.data)
    paths = StatePaths(root / "local")
    paths.create()
    (paths.logs / "serving.log").write_text("a log line\n")
    (paths.workload_data("storage") / "volume").parent.mkdir(parents=True)
    (paths.workload_data("storage") / "volume").write_bytes(b"objects")
    code, output = run("down", "--purge", "--yes", capsys=capsys)
    assert code == 0, output
    assert not paths.root.exists()
    assert kept.exists()  # the other environment beside it keeps its data


def test_purge_waits_for_an_up_holding_the_lock(operator, monkeypatch) -> None:
    from ops_cli import operations
    from ops_cli.environment import open_environment

    monkeypatch.setenv("OPSCTL_STATE_DIR", str(operator / "states"))
    env = open_environment("local")
    env.paths.create()
    with environment_lock(env.paths.lock_file, environment="local"):  # as `up` holds it
        with pytest.raises(LockedError):
            operations.down(env, purge=True)
        assert env.paths.marker_file.exists()


def test_create_never_changes_a_folder_it_did_not_create(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o1777)  # like /tmp
    paths = StatePaths(shared / "local")
    paths.create()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert stat.S_IMODE(paths.root.stat().st_mode) == 0o700
    assert json.loads(paths.marker_file.read_text())["environment"] == "local"

    foreign = tmp_path / "foreign" / "local"
    foreign.mkdir(parents=True, mode=0o755)
    foreign.chmod(0o755)
    with pytest.raises(RefusedError, match="was not created by opsctl"):
        StatePaths(foreign).create()
    assert stat.S_IMODE(foreign.stat().st_mode) == 0o755
    assert list(foreign.iterdir()) == []


def test_a_folder_an_earlier_opsctl_made_is_marked_and_kept(tmp_path: Path) -> None:
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / "state.json").write_text(json.dumps({"environment": "local"}))
    paths = StatePaths(folder)
    paths.create()
    assert paths.owner() == "local"
