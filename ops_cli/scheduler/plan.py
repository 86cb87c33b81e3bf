"""A scheduler's plan of a change: what applying a job would create, update or destroy.

The plan type of the optional abilities (:mod:`ops_cli.scheduler.abilities`): a
scheduler that can plan fills it from its own API (Nomad: ``ops_cli.scheduler.nomad.plan``);
generic code (``opsctl plan``, releases) reads only this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GroupChanges:
    """What the scheduler would do to one task group's allocations."""

    group: str
    place: int = 0
    stop: int = 0
    in_place: int = 0
    destructive: int = 0
    canary: int = 0
    ignore: int = 0

    def describe(self) -> str:
        """The group's changes in words, e.g. ``1 to place, 2 canary``; ``no allocation changes``
        when none."""
        parts = [
            f"{n} {label}"
            for n, label in (
                (self.place, "to place"),
                (self.stop, "to stop"),
                (self.in_place, "in-place"),
                (self.destructive, "destructive"),
                (self.canary, "canary"),
                (self.ignore, "unchanged"),
            )
            if n
        ]
        return ", ".join(parts) or "no allocation changes"


@dataclass(frozen=True)
class JobPlan:
    """One job's planned change. ``modify_index`` is the JobModifyIndex the plan
    was made against: registering with it refuses a concurrent change."""

    job: str
    change: str  # create | update | destroy | none
    modify_index: int
    groups: tuple[GroupChanges, ...] = ()
    fields: tuple[str, ...] = ()
    warnings: str = ""
    failed_placements: tuple[str, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_changes(self) -> bool:
        """True unless the job would stay exactly as it is."""
        return self.change != "none"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form ``opsctl plan --output json`` prints."""
        return {
            "job": self.job,
            "change": self.change,
            "job_modify_index": self.modify_index,
            "groups": [g.__dict__ for g in self.groups],
            "fields": list(self.fields),
            "warnings": self.warnings,
            "failed_placements": list(self.failed_placements),
        }
