"""Rendering for people (rich tables, live progress) and for scripts (JSON)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from enum import Enum
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ops_cli.scheduler.base import Health, WorkloadEvent, WorkloadStatus

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

_HEALTH_STYLE = {
    Health.HEALTHY: "green",
    Health.STARTING: "yellow",
    Health.UNHEALTHY: "red",
    Health.FAILED: "bold red",
    Health.STOPPED: "dim",
}


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


def status_rows(statuses: list[WorkloadStatus]) -> list[dict[str, Any]]:
    """The JSON form of a status listing: one object per workload."""
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
        }
        for s in statuses
    ]


def status_table(statuses: list[WorkloadStatus], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("workload", "health", "endpoints", "pid", "uptime", "detail"):
        table.add_column(column)
    for s in statuses:
        style = _HEALTH_STYLE.get(s.health, "")
        endpoints = "\n".join(f"{e.label}: {e.url}" for e in s.endpoints) or "-"
        uptime = f"{s.uptime_s:.0f}s" if s.uptime_s is not None else "-"
        table.add_row(
            s.name, f"[{style}]{s.health.value}[/]", endpoints, str(s.pid or "-"), uptime, s.detail
        )
    return table


def endpoint_table(statuses: list[WorkloadStatus]) -> Table:
    table = Table(title="Endpoints", title_justify="left")
    table.add_column("service")
    table.add_column("url")
    for s in statuses:
        for e in s.endpoints:
            table.add_row(e.label, e.url)
    return table


class ProgressView:
    """One line per workload with its phase and elapsed time, updated live on a
    terminal; plain lines on stderr otherwise (CI logs, ``--output json``)."""

    def __init__(self, live: Live | None) -> None:
        self.live = live
        self.rows: dict[str, tuple[str, float, str]] = {}
        self.began: dict[str, float] = {}

    def __call__(self, event: WorkloadEvent) -> None:
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
