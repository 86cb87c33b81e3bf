"""``opsctl pipeline run`` refuses a source it cannot read at once (exit 2), before
anything reaches the platform, and agrees with the worker's acquisition step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from ml.data import kaggle_credentials as ml_credentials
from ml.data import sources as ml_sources
from ops_cli.data_source import (
    KAGGLE_CREDENTIALS,
    KAGGLE_HELP,
    REQUIRED_FILES,
    check_source,
    kaggle_credentials,
)
from ops_cli.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_required_files_are_the_dataset_schemas() -> None:
    assert REQUIRED_FILES == ml_sources.REQUIRED_FILES


def dataset(folder: Path, names: tuple[str, ...] = REQUIRED_FILES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("a,b\n1,2\n")
    return folder


def _complete(root: Path) -> Path:
    return dataset(root / "crm")


def _in_a_subfolder(root: Path) -> Path:
    dataset(root / "crm" / "archive" / "v2")
    return root / "crm"


def _missing_two(root: Path) -> Path:
    return dataset(root / "crm", REQUIRED_FILES[:2])


def _dangling_link(root: Path) -> Path:
    folder = dataset(root / "crm", REQUIRED_FILES[1:])
    (folder / REQUIRED_FILES[0]).symlink_to(root / "gone.csv")
    return folder


def _folder_named_like_a_file(root: Path) -> Path:
    folder = dataset(root / "crm", REQUIRED_FILES[:-1])
    (folder / REQUIRED_FILES[-1]).mkdir()
    return folder


def _empty(root: Path) -> Path:
    (root / "crm").mkdir()
    return root / "crm"


def _two_datasets(root: Path) -> Path:
    dataset(root / "crm" / "2017", REQUIRED_FILES)
    dataset(root / "crm" / "2018", REQUIRED_FILES)
    return root / "crm"


def _an_empty_file(root: Path) -> Path:
    folder = _complete(root)
    (folder / "accounts.csv").write_bytes(b"")
    return folder


def _not_utf8(root: Path) -> Path:
    folder = _complete(root)
    (folder / "sales_teams.csv").write_bytes(bytes(range(128, 256)) * 4)
    return folder


FOLDERS: dict[str, tuple[Callable[[Path], Path], str | None]] = {
    "complete": (_complete, None),
    "files in a subfolder": (_in_a_subfolder, None),
    "two files missing": (_missing_two, "has no products.csv, sales_teams.csv"),
    "a dangling link": (_dangling_link, "cannot be read"),
    "a folder named like a file": (_folder_named_like_a_file, "cannot be read"),
    "empty": (_empty, "has no sales_pipeline.csv, accounts.csv"),
    "two datasets": (_two_datasets, "holds sales_pipeline.csv more than once"),
    "an empty file": (_an_empty_file, "accounts.csv is empty"),
    "not UTF-8": (_not_utf8, "sales_teams.csv is not UTF-8 text"),
}


@pytest.mark.parametrize("case", FOLDERS)
def test_a_folder_is_refused_exactly_when_the_worker_could_not_read_it(
    case: str, tmp_path: Path
) -> None:
    make, refusal = FOLDERS[case]
    folder = make(tmp_path)
    try:
        ml_sources.read_folder(folder)
        worker_fails = False
    except (ml_sources.SourceError, OSError):
        worker_fails = True
    assert worker_fails == (refusal is not None)
    if refusal is None:
        assert check_source(str(folder), origin="--source x", check_credentials=True) == str(
            folder.resolve()
        )
        return
    with pytest.raises(ConfigError, match=refusal) as caught:
        check_source(str(folder), origin=f"--source {folder}", check_credentials=True)
    assert str(caught.value).startswith(f"--source {folder}: ")


def test_a_path_that_is_no_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not 'kaggle', 'synthetic' or an existing folder"):
        check_source(str(tmp_path / "nowhere"), origin="--source nowhere", check_credentials=True)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


CREDENTIALS: dict[str, Callable[[Path], dict[str, str]]] = {
    "KAGGLE_USERNAME and KAGGLE_KEY": lambda home: {"KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k"},
    "KAGGLE_API_TOKEN": lambda home: {"KAGGLE_API_TOKEN": "KGAT_0123"},
    "~/.kaggle/access_token": lambda home: (
        _write(home / ".kaggle" / "access_token", "KGAT_0123\n") or {}
    ),
    "~/.kaggle/kaggle.json": lambda home: (
        _write(home / ".kaggle" / "kaggle.json", '{"username": "u", "key": "k"}') or {}
    ),
    "$KAGGLE_CONFIG_DIR/kaggle.json": lambda home: (
        _write(home / "cfg" / "kaggle.json", '{"username": "u", "key": "k"}')
        or {"KAGGLE_CONFIG_DIR": str(home / "cfg")}
    ),
}


NO_CREDENTIALS: dict[str, Callable[[Path], dict[str, str]]] = {
    "nothing": lambda home: {},
    "an empty access_token": lambda home: _write(home / ".kaggle" / "access_token", " \n") or {},
    "a username without key": lambda home: {"KAGGLE_USERNAME": "u"},
    "KAGGLE_API_TOKEN naming an empty file, before ~/.kaggle/access_token": lambda home: (
        _write(home / "empty", "")
        or _write(home / ".kaggle" / "access_token", "KGAT_1")
        or {"KAGGLE_API_TOKEN": str(home / "empty")}
    ),
}


def test_the_worker_and_the_cli_look_for_kaggle_credentials_by_the_same_rules() -> None:
    assert KAGGLE_CREDENTIALS == ml_credentials.KAGGLE_CREDENTIALS
    # the hint names every variable and file the rules read
    for _kind, *names in KAGGLE_CREDENTIALS:
        for name in names:
            if name.isupper() or name.endswith(("token", ".json")):
                assert name.removeprefix("~/.kaggle/") in KAGGLE_HELP, name


@pytest.mark.parametrize("where", [*CREDENTIALS, *NO_CREDENTIALS])
def test_the_cli_the_worker_and_kagglehub_agree_on_credentials(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kagglehub.config

    environ = {**CREDENTIALS, **NO_CREDENTIALS}[where](tmp_path)
    for name in [n for n in os.environ if n.startswith(("KAGGLE", "COLAB"))]:
        monkeypatch.delenv(name)
    for name, value in {**environ, "HOME": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    # kagglehub fixed its default folder from the home folder when it was imported
    monkeypatch.setattr(kagglehub.config, "DEFAULT_KAGGLE_CREDENTIALS_FOLDER",
                        str(tmp_path / ".kaggle"))  # fmt: skip
    found = kagglehub.config.get_kaggle_credentials() is not None
    assert (kaggle_credentials(environ, tmp_path) is not None) is found
    assert (ml_credentials.kaggle_credentials(environ, tmp_path) is not None) is found
    assert ml_sources.kaggle_credentials_configured(environ) is found
    assert found is (where in CREDENTIALS)


@pytest.mark.parametrize("where", CREDENTIALS)
def test_kaggle_credentials_are_found_where_kagglehub_looks(where: str, tmp_path: Path) -> None:
    environ = CREDENTIALS[where](tmp_path)
    assert kaggle_credentials(environ, tmp_path) is not None
    assert check_source("kaggle", origin="--source kaggle", check_credentials=True,
                        environ=environ, home=tmp_path) == "kaggle"  # fmt: skip


def test_kaggle_without_credentials_is_refused_naming_where_to_put_them(tmp_path: Path) -> None:
    _write(tmp_path / ".kaggle" / "access_token", "  \n")  # an empty token is no token
    with pytest.raises(ConfigError, match="Kaggle credentials are not configured") as caught:
        check_source("kaggle", origin="--source kaggle", check_credentials=True,
                     environ={"KAGGLE_USERNAME": "u"}, home=tmp_path)  # fmt: skip
    assert caught.value.hint is not None and "KAGGLE_KEY" in caught.value.hint
    # a cluster's worker has credentials of its own: not the operator's machine's business
    assert check_source("kaggle", origin="x", check_credentials=False, environ={}, home=tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not a readable kaggle.json"), ('{"username": "u"}', "'username' and 'key'")],
)
def test_a_broken_kaggle_json_is_named(content: str, message: str, tmp_path: Path) -> None:
    _write(tmp_path / ".kaggle" / "kaggle.json", content)
    with pytest.raises(ConfigError, match=message) as caught:
        kaggle_credentials({}, tmp_path)
    assert str(tmp_path / ".kaggle" / "kaggle.json") in str(caught.value)


def opsctl(server: HTTPServer, home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    """``opsctl`` with Prefect and MLflow answered by ``server``, which records every request."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "OPSCTL_ENVIRONMENTS_DIR": str(REPO / "environments"),
        "OPSCTL_STATE_DIR": str(home / "state"),
        "PREFECT_API_URL": server.url_for("/api"),
        "MLFLOW_TRACKING_URI": server.url_for(""),
        **extra,
    }
    return subprocess.run([sys.executable, "-m", "ops_cli", *args], capture_output=True,
                          text=True, env=env, timeout=60, cwd=REPO)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        (["--source", "kaggle"], {}, "--source kaggle: Kaggle credentials are not configured"),
        ([], {"OPSCTL_PIPELINE__DEFAULT_SOURCE": "kaggle"},
         "pipeline.default_source 'kaggle' of environment 'local': Kaggle credentials"),
        (["--source", "{folder}"], {}, "has no products.csv, sales_teams.csv"),
    ],
)  # fmt: skip
def test_pipeline_run_refuses_at_once_and_nothing_reaches_the_platform(
    httpserver: HTTPServer, tmp_path: Path, args: list[str], extra: dict, message: str
) -> None:
    folder = dataset(tmp_path / "partial", REQUIRED_FILES[:2])
    args = [a.replace("{folder}", str(folder)) for a in args]

    result = opsctl(httpserver, tmp_path, "pipeline", "run", "--wait", *args, "-o", "json", **extra)

    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert json.loads(result.stdout)["exit_code"] == 2
    assert httpserver.log == [], "the platform was asked something before the source was checked"


@pytest.mark.parametrize("force", [False, True])
def test_pipeline_run_sends_parameters_the_pipeline_flow_takes(force: bool) -> None:
    import inspect

    from ops_cli.pipeline import run_parameters
    from workloads.flows.pipeline import crm_pipeline

    sent = run_parameters(source="synthetic", rows=3000, month="2017-12", force=force)
    assert set(sent) <= set(inspect.signature(crm_pipeline.fn).parameters)
    assert sent.get("force", False) is force  # the flow's default is not to force
    assert inspect.signature(crm_pipeline.fn).parameters["force"].default is False


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_source_is_refused_not_read_as_the_current_folder(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(_complete(tmp_path))  # a dataset right here must not be taken
    with pytest.raises(ConfigError, match="--source: empty"):
        check_source(value, origin="--source", check_credentials=True)
