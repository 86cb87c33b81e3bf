"""Where kagglehub finds Kaggle credentials, as data, and a check that walks it.

The order is kagglehub 1.0's (``kagglehub.config.get_kaggle_credentials`` and
``kagglesdk.kaggle_env.get_access_token_from_env``): an access token first,
then the legacy username and key. Each rule is a tuple:

- ``("token", VARIABLE)``: the variable holds a token, or the path of a file
  holding one (an empty file ends the search for a token);
- ``("token_file", PATH)``: a file holding a token (``~`` is the home folder);
- ``("variables", NAME, ...)``: every variable named is set;
- ``("json", VARIABLE, FOLDER, FILE, FIELD, ...)``: ``FILE`` in the folder the
  variable names, else in ``FOLDER``, a JSON object with every ``FIELD``.

``ops_cli.data_source`` keeps the same rules (opsctl does not import this
package); a test holds the two equal and both in agreement with kagglehub.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

KAGGLE_CREDENTIALS: tuple[tuple[str, ...], ...] = (
    ("token", "KAGGLE_API_TOKEN"),
    ("token_file", "~/.kaggle/access_token"),
    ("token_file", "~/.kaggle/access_token.txt"),
    ("variables", "KAGGLE_USERNAME", "KAGGLE_KEY"),
    ("json", "KAGGLE_CONFIG_DIR", "~/.kaggle", "kaggle.json", "username", "key"),
)


class CredentialsFileError(ValueError):
    """A credentials file exists but kagglehub would refuse it; the message names it."""


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
        raise CredentialsFileError(f"{path}: not a readable {name} ({exc})") from None
    if not isinstance(content, dict) or not all(content.get(f) for f in fields):
        raise CredentialsFileError(f"{path}: needs {' and '.join(repr(f) for f in fields)}")
    return str(path)


def kaggle_credentials(
    environ: Mapping[str, str] | None = None, home: Path | None = None
) -> str | None:
    """Where kagglehub would find credentials (a variable's or a file's name), or None.

    Raises :class:`CredentialsFileError` for a ``kaggle.json`` kagglehub would refuse.
    ``environ`` and ``home`` default to this process's.
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


def describe_locations() -> str:
    """The rules in words, for messages: ``KAGGLE_API_TOKEN, ~/.kaggle/access_token, ...``."""
    words = []
    for kind, *rest in KAGGLE_CREDENTIALS:
        if kind in ("token", "token_file"):
            words.append(rest[0])
        elif kind == "variables":
            words.append(" and ".join(rest))
        else:
            words.append(f"{rest[2]} in ${rest[0]} or {rest[1]}")
    return ", ".join(words[:-1]) + f", or {words[-1]}"
