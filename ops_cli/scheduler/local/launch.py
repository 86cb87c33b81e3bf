"""Start one workload process with exactly the environment opsctl wrote for it.

supervisord runs ``python -m ops_cli.scheduler.local.launch ENV_FILE [--digest D] --
COMMAND...`` for each program. The environment file (JSON, mode 0600, in the
state folder's ``run/env/``) is read, and the command replaces this process
(``execve``) with that environment and nothing else: supervisord's own
variables and the operator's never reach the workload, and a secret reaches it
byte for byte, since no INI quoting stands between them.

``--digest`` is not used here: it changes with the file's content, so that
supervisord, which compares commands, sees a changed environment as a changed
program.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

OWNER_VARIABLE = "OPSCTL_PROCESS_OWNER"
"""Set in every workload process to ``<its data folder>#<its pid>``: each process it
starts inherits it (a Prefect flow run, a child in its own session), so whatever an
instance of a workload left behind can be found and stopped (see ``reaper``)."""


def owner_tag(owner: str, pid: int) -> str:
    """The value of :data:`OWNER_VARIABLE` in the instance ``pid`` of workload ``owner``."""
    return f"{owner}#{pid}"


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """Write ``env`` as the launcher reads it: JSON, mode 0600, replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(dict(env), handle, sort_keys=True, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_env_file(path: Path) -> dict[str, str]:
    """The environment in ``path``; raises ValueError when it is not a mapping of strings."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"{path}: not a JSON object of string values")
    return data


def parse_args(argv: list[str]) -> tuple[Path, list[str]]:
    """``ENV_FILE [--digest D] -- COMMAND...`` -> (env file, command)."""
    if "--" not in argv:
        raise ValueError("usage: launch ENV_FILE [--digest D] -- COMMAND...")
    split = argv.index("--")
    head, command = argv[:split], argv[split + 1 :]
    if not head or not command:
        raise ValueError("usage: launch ENV_FILE [--digest D] -- COMMAND...")
    return Path(head[0]), command


def main(argv: list[str] | None = None) -> None:
    """Replace this process with the command; exits 127 (as a shell does) when the
    environment file or the command cannot be used, with the reason on stderr."""
    try:
        env_file, command = parse_args(sys.argv[1:] if argv is None else argv)
        env = read_env_file(env_file)
        if OWNER_VARIABLE in env:  # this process keeps its pid across exec
            env[OWNER_VARIABLE] = owner_tag(env[OWNER_VARIABLE], os.getpid())
        os.execvpe(command[0], command, env)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"opsctl launch: {exc}\n")
        sys.exit(127)


if __name__ == "__main__":
    main()
