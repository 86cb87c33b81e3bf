"""Rendering for people (rich tables, live progress) and for scripts (JSON).

Tables are built with :mod:`ops_cli.cli.tables` (essential columns that fit
the terminal, ``-o wide`` for the rest); this module holds the consoles, the
JSON form and the tables of the platform's services.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from enum import Enum
from typing import Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from ops_cli.cli.tables import Column, age, styled, table
from ops_cli.scheduler.base import Health, WorkloadEvent, WorkloadStatus
from ops_cli.traffic import Traffic

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

_HEALTH_STYLE = {
    Health.HEALTHY: "green",
    Health.STARTING: "yellow",
    Health.UNHEALTHY: "red",
    Health.FAILED: "bold red",
    Health.STOPPED: "dim",
}


def ask(question: str) -> bool:
    """A yes/no question (default no), asked on stderr and answered on stdin.

    Nothing reaches stdout, which stays the command's own output (one JSON document
    with ``-o json``); click's prompt would write a space there. Asks again after an
    answer that is neither yes nor no; raises :class:`typer.Abort` when stdin ends
    with no answer (no one is there to say yes).
    """
    while True:
        sys.stderr.write(f"{question} [y/N]: ")
        sys.stderr.flush()
        line = sys.stdin.readline()
        if not line:
            raise typer.Abort()
        answer = line.strip().lower()
        if answer in ("y", "yes", "n", "no", ""):
            return answer in ("y", "yes")
        sys.stderr.write("Error: answer y or n\n")


def before_question(for_people: bool) -> Console:
    """Where to show what a question is about: stdout for people; stderr when stdout
    carries JSON, so the person answering still sees what will change."""
    return stdout if for_people else stderr


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums and paths as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def print_json(data: Any) -> None:
    """One JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(to_jsonable(data), indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()


def status_rows(
    statuses: list[WorkloadStatus], traffic: dict[str, Traffic] | None = None
) -> list[dict[str, Any]]:
    """The JSON form of a status listing: one object per workload; ``requests_per_s``
    and ``error_ratio`` (5xx share, last five minutes) where Prometheus has them."""
    traffic = traffic or {}
    return [
        {
            "name": s.name,
            "health": s.health.value,
            "detail": s.detail,
            "pid": s.pid,
            "uptime_s": round(s.uptime_s, 1) if s.uptime_s is not None else None,
            "instances": s.instances,
            "version": s.version,
            "endpoints": [{"label": e.label, "url": e.url} for e in s.endpoints],
            **(
                {
                    "requests_per_s": round(traffic[s.name].requests_per_s, 3),
                    "error_ratio": round(traffic[s.name].error_ratio, 4),
                }
                if s.name in traffic
                else {}
            ),
        }
        for s in statuses
    ]


STATUS_COLUMNS = (
    Column("service"),
    Column("health"),
    Column("endpoint", wide=True, optional=True),
    Column("url", optional=True),
    Column("instances", wide=True, optional=True, justify="right"),
    Column("version", wide=True, optional=True),
    Column("pid", wide=True, optional=True, justify="right"),
    Column("uptime", wide=True, optional=True, justify="right"),
    Column("req/s", optional=True, justify="right"),
    Column("errors", optional=True, justify="right"),
    Column("detail", text=True, optional=True),
)
"""``opsctl status``: service, health and URLs (one a line); the detail only of a
service that is not healthy. ``-o wide`` adds endpoint labels, Nomad's instances
and version, the local pid and uptime, and every detail. Requests per second and
the share answered with a server error (last five minutes) appear for the services
Prometheus scrapes, when the metrics workload is up."""


def status_table(
    statuses: list[WorkloadStatus],
    title: str,
    *,
    wide: bool = False,
    traffic: dict[str, Traffic] | None = None,
) -> Any:
    """The services of an environment as a table (see :data:`STATUS_COLUMNS`)."""
    traffic = traffic or {}
    rows = [
        {
            "service": s.name,
            "health": styled(s.health.value, _HEALTH_STYLE.get(s.health, "")),
            "endpoint": "\n".join(e.label for e in s.endpoints) or None,
            "url": "\n".join(e.url for e in s.endpoints) or None,
            "instances": s.instances if s.version is not None else None,
            "version": s.version,
            "pid": s.pid,
            "uptime": age(s.uptime_s),
            "req/s": f"{traffic[s.name].requests_per_s:.2f}" if s.name in traffic else None,
            "errors": f"{traffic[s.name].error_ratio:.1%}" if s.name in traffic else None,
            "detail": s.detail if wide or s.health is not Health.HEALTHY else None,
        }
        for s in statuses
    ]
    return table(STATUS_COLUMNS, rows, title=title, wide=wide)


def endpoint_table(statuses: list[WorkloadStatus]) -> Any:
    """Where each service answers, as ``up`` prints it at the end."""
    rows = [{"service": e.label, "url": e.url} for s in statuses for e in s.endpoints]
    return table((Column("service"), Column("url")), rows, title="Endpoints")


class ProgressView:
    """One line per workload with its phase and elapsed time, updated live on a
    terminal; plain lines on stderr otherwise (CI logs, ``--output json``)."""

    def __init__(self, live: Live | None) -> None:
        self.live = live
        self.rows: dict[str, tuple[str, float, str]] = {}
        self.began: dict[str, float] = {}

    def __call__(self, event: WorkloadEvent) -> None:
        """Record ``event`` and show it: a line on stderr, or the live table's row when one is
        shown."""
        if event.phase == "starting":
            self.began[event.name] = time.monotonic()
        self.rows[event.name] = (event.phase, event.elapsed_s, event.detail)
        if self.live is None:
            elapsed = f" {event.elapsed_s:.1f}s" if event.elapsed_s else ""
            stderr.print(
                f"{event.name}: {event.phase}{elapsed} {event.detail}".rstrip(), highlight=False
            )
        else:
            self.live.update(self.render())

    def render(self) -> Table:
        """The live table: one row per workload with its phase and the seconds it has taken so far."""
        table = Table(show_header=True, box=None)
        table.add_column("workload")
        table.add_column("state")
        table.add_column("elapsed", justify="right")
        for name, (phase, elapsed, _detail) in self.rows.items():
            if phase == "starting":
                elapsed = time.monotonic() - self.began.get(name, time.monotonic())
            style = {"healthy": "green", "failed": "red", "unchanged": "dim"}.get(phase, "yellow")
            table.add_row(name, f"[{style}]{phase}[/]", f"{elapsed:.1f}s" if elapsed else "")
        return table


@contextmanager
def progress(enabled_live: bool) -> Iterator[ProgressView]:
    """A progress view, live when stderr is a terminal and ``enabled_live``."""
    if enabled_live and stderr.is_terminal:
        view = ProgressView(None)
        with Live(
            view.render(), console=stderr, refresh_per_second=4, get_renderable=view.render
        ) as live:
            view.live = live
            yield view
    else:
        yield ProgressView(None)
