"""Loaded at start-up by every Python process of a platform under test (this folder on
``PYTHONPATH``): records and refuses every network connection that would leave the
machine, so a test can show that nothing did.

Active only when ``OPSCTL_TEST_OUTBOUND_LOG`` names the file to append to; each
attempt is one JSON line: the process, the audit event (``socket.getaddrinfo``,
``socket.connect``, ``socket.sendto``, ``socket.gethostbyname``...) and its target.
Each process also writes one ``loaded`` line when it starts, naming its command.
Loopback, the unspecified address (a bind) and this machine's own name pass.
"""

from __future__ import annotations

import os
import sys

_LOG = os.environ.get("OPSCTL_TEST_OUTBOUND_LOG")

if _LOG:
    import ipaddress
    import json
    import socket

    _LOCAL_NAMES = {"", "localhost", "localhost.localdomain", socket.gethostname()}
    _RESOLVING = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                  "socket.gethostbyaddr", "socket.getnameinfo"}  # fmt: skip
    _CONNECTING = {"socket.connect", "socket.sendto", "socket.sendmsg"}

    def _stays_here(host: object) -> bool:
        if host is None:
            return True
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
        if isinstance(host, tuple):  # getnameinfo's (address, port)
            host = host[0]
        text = str(host).strip("[]").split("%", 1)[0]
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return text.lower() in _LOCAL_NAMES
        return address.is_loopback or address.is_unspecified

    def _record(event: str, target: object) -> None:
        argv = list(getattr(sys, "orig_argv", sys.argv))[:6]
        line = {"pid": os.getpid(), "argv": argv, "event": event, "target": repr(target)}
        with open(_LOG, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")

    def _audit(event: str, args: tuple) -> None:
        if event in _RESOLVING and not _stays_here(args[0]):
            _record(event, args[0])
            raise socket.gaierror(socket.EAI_NONAME, f"outbound lookup refused: {args[0]!r}")
        if event in _CONNECTING:
            sock, address = args[0], args[-1]
            inet = getattr(sock, "family", None) in (socket.AF_INET, socket.AF_INET6)
            if inet and isinstance(address, tuple) and not _stays_here(address[0]):
                _record(event, address)
                raise ConnectionRefusedError(f"outbound connection refused: {address!r}")

    _record("loaded", None)  # shows which processes the hook watched
    sys.addaudithook(_audit)
