"""Verification and audit records, and what they say about the past (pure).

Both are written once and never rewritten: a new verification or a new
promotion is a new record. ``history`` answers from the audit records alone.
"""

from __future__ import annotations

import getpass
import os
import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Result = Literal["succeeded", "refused", "failed-rolled-back", "failed"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Check(_Record):
    """One smoke check and its outcome."""

    name: str
    passed: bool
    detail: str = ""


class VerificationRecord(_Record):
    """The smoke checks of a release in one environment, at one time."""

    release_id: str
    content_sha256: str
    environment: str
    at: datetime
    actor: str
    passed: bool
    checks: list[Check] = Field(default_factory=list)


class AuditRecord(_Record):
    """Who promoted what, when, from where to where, and how it ended."""

    record_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    at: datetime
    actor: str
    action: Literal["promote"] = "promote"
    release_id: str
    content_sha256: str = ""
    from_environment: str
    to_environment: str
    result: Result
    model_version: str | None = None
    previous_model_version: str | None = None
    previous_release_id: str | None = None
    images: list[str] = Field(default_factory=list)
    detail: str = ""


def now() -> datetime:
    """The current time in UTC, to the microsecond (records sort by it)."""
    return datetime.now(UTC)


def actor() -> str:
    """Who acts: the GitHub actor in Actions (with the run), else the local user."""
    if os.environ.get("GITHUB_ACTOR"):
        run = os.environ.get("GITHUB_RUN_ID")
        return f"github:{os.environ['GITHUB_ACTOR']}" + (f" (run {run})" if run else "")
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def latest_verification(records: list[VerificationRecord]) -> VerificationRecord | None:
    """The most recent verification, or None."""
    return max(records, key=lambda r: r.at, default=None)


def in_environment_at(
    records: list[AuditRecord], environment: str, at: datetime
) -> AuditRecord | None:
    """The successful promotion that put what ran in ``environment`` at time ``at``:
    the latest succeeded promotion to it not after ``at``. A promotion that failed
    and was rolled back changed nothing, so it is not an answer."""
    landed = [
        r
        for r in records
        if r.to_environment == environment and r.result == "succeeded" and r.at <= at
    ]
    return max(landed, key=lambda r: r.at, default=None)
