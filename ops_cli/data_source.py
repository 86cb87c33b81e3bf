"""Preflight of a pipeline run's data source, before anything is scheduled.

A run whose source cannot be read would otherwise be created on the platform
and fail inside its first task, leaving a failed run behind. The checks here
are the ones the worker's acquisition step makes, done at once by the CLI:

- ``kaggle``: credentials where kagglehub looks for them (its README and
  ``kagglehub.config``/``kagglesdk.kaggle_env`` of kagglehub 1.0), as the
  rules of :data:`KAGGLE_CREDENTIALS`: the ``KAGGLE_API_TOKEN`` variable (a
  token, or a file holding one), ``~/.kaggle/access_token`` (or ``.txt``), the
  ``KAGGLE_USERNAME`` and ``KAGGLE_KEY`` variables, or ``kaggle.json``
  (``username`` and ``key``) in ``$KAGGLE_CONFIG_DIR`` or ``~/.kaggle``.
  Checked where the worker runs on this machine (a local environment); a
  cluster's worker has its own.
- a folder: readable, holding each of :data:`REQUIRED_FILES` (searched in its
  subfolders too, as the acquisition step searches), each readable.

opsctl does not import the pipeline's code, so the file names and the credential
rules are kept here; tests hold them equal to the worker's
(``ml.data.sources.REQUIRED_FILES``, ``ml.data.kaggle_credentials``).
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Mapping
from pathlib import Path

from ops_cli.errors import ConfigError

REQUIRED_FILES = ("sales_pipeline.csv", "accounts.csv", "products.csv", "sales_teams.csv")
"""The CSV files of the CRM dataset a run needs (``data_dictionary.csv`` is optional)."""

KAGGLE_CREDENTIALS: tuple[tuple[str, ...], ...] = (
    ("token", "KAGGLE_API_TOKEN"),
    ("token_file", "~/.kaggle/access_token"),
    ("token_file", "~/.kaggle/access_token.txt"),
    ("variables", "KAGGLE_USERNAME", "KAGGLE_KEY"),
    ("json", "KAGGLE_CONFIG_DIR", "~/.kaggle", "kaggle.json", "username", "key"),
)
"""Where kagglehub looks for credentials, in its order: the rules of
``ml.data.kaggle_credentials.KAGGLE_CREDENTIALS`` (a test holds them equal)."""

KAGGLE_HELP = (
    "put the token from kaggle.com/settings in ~/.kaggle/access_token (or set "
    "KAGGLE_API_TOKEN), or set KAGGLE_USERNAME and KAGGLE_KEY, or put kaggle.json in "
    "~/.kaggle/ (or $KAGGLE_CONFIG_DIR); or use --source synthetic or --source FOLDER"
)


def check_source(
    source: str,
    *,
    origin: str,
    check_credentials: bool,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> str:
    """``source`` as the worker should receive it (a folder made absolute), or a
    :class:`ConfigError` (exit 2) naming ``origin`` (the flag or setting it came
    from) and what is missing. ``environ`` and ``home`` default to this process's."""
    if source == "synthetic":
        return source
    if source == "kaggle":
        if check_credentials and not kaggle_credentials(environ, home):
            raise ConfigError(f"{origin}: Kaggle credentials are not configured", hint=KAGGLE_HELP)
        return source
    if not source.strip():
        # Path("") is the current folder: an empty value must not read whatever is there
        raise ConfigError(f"{origin}: empty; give 'kaggle', 'synthetic' or a folder")
    folder = Path(source).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"{origin}: not 'kaggle', 'synthetic' or an existing folder")
    check_folder(folder, origin)
    return str(folder.resolve())


def check_folder(folder: Path, origin: str) -> None:
    """Raise :class:`ConfigError` unless ``folder`` can be read and holds every
    required file once (in it or a subfolder), each readable, not empty and UTF-8
    text, as the acquisition step reads them (``ml.data.sources.read_folder``)."""
    if not os.access(folder, os.R_OK | os.X_OK):
        raise ConfigError(f"{origin}: cannot read the folder {folder} (permission denied)")
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.rglob("*.csv")):
        found.setdefault(path.name, []).append(path)
    missing = [name for name in REQUIRED_FILES if name not in found]
    if missing:
        raise ConfigError(
            f"{origin}: {folder} has no {', '.join(missing)}",
            hint=f"a source folder holds {', '.join(REQUIRED_FILES)} (in it or a subfolder)",
        )
    for name in REQUIRED_FILES:
        if len(found[name]) > 1:
            places = ", ".join(str(p.relative_to(folder)) for p in found[name])
            raise ConfigError(
                f"{origin}: {folder} holds {name} more than once ({places}): "
                "which dataset to read is ambiguous",
                hint="point --source at the folder of one dataset",
            )
        problem = unreadable(found[name][0])
        if problem:
            raise ConfigError(f"{origin}: {found[name][0]} {problem}")


def unreadable(path: Path) -> str | None:
    """Why the CSV file ``path`` cannot be read as the dataset's text (``"is empty"``,
    ``"is not UTF-8 text ..."``, an OS error), judged on its first 64 KiB; None when
    it can."""
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not head.strip():
        return "is empty"
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        return (
            f"is not UTF-8 text (byte 0x{head[exc.start]:02x} at offset {exc.start}); "
            "save it as CSV UTF-8"
        )
    return None


def _path(text: str, home: Path) -> Path:
    return home / text[2:] if text.startswith("~/") else Path(text)


def _token_in(path: Path) -> bool:
    try:
        return bool(path.read_text().strip())
    except OSError:
        return False


def _json_credentials(rule: tuple[str, ...], env: Mapping[str, str], home: Path) -> str | None:
    variable, folder, name, *fields = rule
    path = Path(env.get(variable) or _path(folder, home)) / name
    if not path.exists():
        return None
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable {name} ({exc})") from None
    if not isinstance(content, dict) or not all(content.get(f) for f in fields):
        fields_text = " and ".join(repr(f) for f in fields)
        raise ConfigError(f"{path}: needs {fields_text}", hint=KAGGLE_HELP)
    return str(path)


def kaggle_credentials(
    environ: Mapping[str, str] | None = None, home: Path | None = None
) -> str | None:
    """Where kagglehub would find credentials (a variable's or a file's name), or None,
    walking :data:`KAGGLE_CREDENTIALS` as ``ml.data.kaggle_credentials`` does.

    Raises :class:`ConfigError` for a ``kaggle.json`` kagglehub would refuse.
    """
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    token_search = True
    for kind, *rest in KAGGLE_CREDENTIALS:
        if kind == "token" and token_search and env.get(rest[0]):
            value = env[rest[0]]
            if not Path(value).exists() or _token_in(Path(value)):
                return rest[0]
            token_search = False  # kagglehub stops looking for a token here
        elif kind == "token_file" and token_search and _token_in(_path(rest[0], home)):
            return str(_path(rest[0], home))
        elif kind == "variables" and all(env.get(name) for name in rest):
            return " and ".join(rest)
        elif kind == "json":
            found = _json_credentials(tuple(rest), env, home)
            if found:
                return found
    return None
