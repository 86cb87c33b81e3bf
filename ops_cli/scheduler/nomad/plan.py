"""A readable summary of a Nomad plan (``POST /v1/job/:id/plan`` with ``Diff``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_CHANGE = {"Added": "create", "Deleted": "destroy", "Edited": "update", "None": "none"}


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


def summarize_plan(job_id: str, response: dict[str, Any], job: dict[str, Any]) -> JobPlan:
    """Turn a plan response into a :class:`JobPlan`; ``job`` is kept as the payload
    to register if the plan is applied."""
    diff = response.get("Diff") or {}
    updates = (response.get("Annotations") or {}).get("DesiredTGUpdates") or {}
    return JobPlan(
        job=job_id,
        change=_CHANGE.get(diff.get("Type", "None"), "update"),
        modify_index=int(response.get("JobModifyIndex") or 0),
        groups=tuple(_group(name, u) for name, u in sorted(updates.items())),
        fields=tuple(changed_fields(diff)),
        warnings=(response.get("Warnings") or "").strip(),
        failed_placements=tuple(sorted(response.get("FailedTGAllocs") or {})),
        payload=job,
    )


def _group(name: str, updates: dict[str, Any]) -> GroupChanges:
    return GroupChanges(
        group=name,
        place=int(updates.get("Place") or 0),
        stop=int(updates.get("Stop") or 0),
        in_place=int(updates.get("InPlaceUpdate") or 0),
        destructive=int(updates.get("DestructiveUpdate") or 0),
        canary=int(updates.get("Canary") or 0),
        ignore=int(updates.get("Ignore") or 0),
    )


def changed_fields(diff: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """``path: old => new`` for every changed field of a job diff, depth first."""
    for item in diff.get("Fields") or []:
        if item.get("Type", "None") != "None":
            yield f"{prefix}{item['Name']}: {item.get('Old', '')!r} => {item.get('New', '')!r}"
    for obj in diff.get("Objects") or []:
        if obj.get("Type", "None") != "None":
            yield from changed_fields(obj, f"{prefix}{obj['Name']}.")
    for group in diff.get("TaskGroups") or []:
        if group.get("Type", "None") != "None":
            yield from changed_fields(group, f"{prefix}group {group['Name']}: ")
    for task in diff.get("Tasks") or []:
        if task.get("Type", "None") != "None":
            notes = ", ".join(task.get("Annotations") or [])
            if notes:
                yield f"{prefix}task {task['Name']}: {notes}"
            yield from changed_fields(task, f"{prefix}task {task['Name']}: ")
