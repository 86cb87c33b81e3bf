"""``python -m workloads.database_password --secret-arn ARN [options] -- COMMAND ...``

Exit status 2 for bad arguments, 1 when the secret cannot be read (Nomad
restarts the task); otherwise the process becomes COMMAND.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from workloads.database_password.secret import SecretUnavailable, read_secret, secrets_client
from workloads.database_password.watch import Watch


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The command line: ``--secret-arn``, ``--check-every-s`` (seconds), ``--stop-grace-s``
    (seconds) and the command to run."""
    parser = argparse.ArgumentParser(
        prog="python -m workloads.database_password",
        description="Run COMMAND with the RDS-managed database password (PGPASSWORD); "
        "stop it when RDS rotates the password.",
    )
    parser.add_argument("--secret-arn", required=True, help="the secret RDS keeps it in")
    parser.add_argument("--check-every-s", type=float, default=60.0)
    parser.add_argument("--stop-grace-s", type=float, default=30.0)
    parser.add_argument("command", nargs="+", help="the service and its arguments, after --")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Read the password, then exec the command with it as ``PGPASSWORD`` while a forked watcher
    stops the command when RDS rotates it. Returns 1 when the secret cannot be read and 127 when
    the command cannot be run; otherwise it never returns (the process becomes the command)."""
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        client = secrets_client(args.secret_arn)
        secret = read_secret(args.secret_arn, client)
    except SecretUnavailable as exc:
        print(f"database password: {exc}", file=sys.stderr, flush=True)
        return 1
    service_pid = os.getpid()  # exec keeps it: the watcher's parent is the service
    if os.fork() == 0:  # the watcher
        watch = Watch(
            started_with=secret.version,
            read=lambda: read_secret(args.secret_arn, client),
            pid=service_pid,
            every_s=args.check_every_s,
            stop_grace_s=args.stop_grace_s,
            service_alive=lambda: os.getppid() == service_pid,
        )
        try:
            watch.run()
        except BaseException as exc:  # the watcher must never outlive its purpose silently
            print(f"database password: the rotation watcher stopped: {exc!r}", file=sys.stderr)
            os._exit(1)
        os._exit(0)
    environ = {**os.environ, "PGPASSWORD": secret.password}
    try:
        os.execvpe(args.command[0], args.command, environ)
    except OSError as exc:
        print(f"database password: cannot run {args.command[0]}: {exc}", file=sys.stderr)
        return 127
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
