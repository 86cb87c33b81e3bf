"""A Nomad plan (``POST /v1/job/:id/plan`` with ``Diff``) read into the generic
:class:`~ops_cli.scheduler.plan.JobPlan`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ops_cli.scheduler.plan import GroupChanges, JobPlan

_CHANGE = {"Added": "create", "Deleted": "destroy", "Edited": "update", "None": "none"}


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
