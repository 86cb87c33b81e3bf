"""How long a write that an active deployment blocks keeps being retried.

Nomad refuses to scale a job while one of its deployments runs
(``400 job scaling blocked due to active deployment``) and accepts once the
deployment ends. A deployment ends by itself: it succeeds, or Nomad fails it
when a task group makes no progress (an allocation turning healthy) within its
``ProgressDeadline``; each bit of progress starts that deadline again. A fixed
number of retries cannot outlast that, so the budget follows the same rule:
it lasts the deployment's progress deadline (plus a margin for Nomad to act)
from the last progress opsctl saw, measured on opsctl's own monotonic clock
(never against Nomad's ``RequireProgressBy`` timestamps, which another
machine's clock wrote).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NS_PER_S = 1_000_000_000
DEFAULT_PROGRESS_DEADLINE_S = 600.0
"""Nomad's default ``progress_deadline`` (10m), used when a deployment states none."""
MARGIN_S = 60.0
"""Time for Nomad to fail a stalled deployment after its deadline and unblock the write."""
ACTIVE = ("running", "paused", "pending", "initializing", "blocked", "unblocking")


def progress_of(deployment: dict[str, Any]) -> tuple[Any, ...]:
    """What changes when a deployment progresses: per group, placed, healthy and
    unhealthy allocations, placed canaries and promotion; and the deployment itself."""
    groups = deployment.get("TaskGroups") or {}
    return (
        deployment.get("ID"),
        deployment.get("Status"),
        tuple(
            (
                name,
                g.get("PlacedAllocs"),
                g.get("HealthyAllocs"),
                g.get("UnhealthyAllocs"),
                len(g.get("PlacedCanaries") or []),
                bool(g.get("Promoted")),
            )
            for name, g in sorted(groups.items())
        ),
    )


def progress_deadline_s(deployment: dict[str, Any] | None) -> float:
    """The longest ``ProgressDeadline`` of the deployment's groups, in seconds;
    Nomad's default when none is set (0 means "none" to Nomad)."""
    groups = (deployment or {}).get("TaskGroups") or {}
    longest = max((int(g.get("ProgressDeadline") or 0) for g in groups.values()), default=0)
    return longest / NS_PER_S if longest > 0 else DEFAULT_PROGRESS_DEADLINE_S


class DeploymentBudget:
    """A time budget for waiting out one job's active deployment.

    ``read_deployment`` answers the job's latest deployment (or None);
    ``clock`` is monotonic seconds. :meth:`expired` is asked after each blocked
    attempt: it reads the deployment, restarts the budget on progress, and is
    True once the deployment made no progress for its progress deadline plus
    :data:`MARGIN_S`.
    """

    def __init__(
        self,
        read_deployment: Callable[[], dict[str, Any] | None],
        clock: Callable[[], float],
        *,
        margin_s: float = MARGIN_S,
    ) -> None:
        self._read = read_deployment
        self._clock = clock
        self._margin_s = margin_s
        self._seen: tuple[Any, ...] | None = None
        self._deadline = clock() + DEFAULT_PROGRESS_DEADLINE_S + margin_s
        self.waited_for = "a deployment"

    def expired(self) -> bool:
        """Whether to stop retrying (the deployment stalled past its deadline)."""
        deployment = self._read()
        now = self._clock()
        if deployment is not None and deployment.get("Status") in ACTIVE:
            self.waited_for = f"deployment {deployment.get('ID', '')}".strip()
            progress = progress_of(deployment)
            if progress != self._seen:
                self._seen = progress
                self._deadline = now + progress_deadline_s(deployment) + self._margin_s
        return now > self._deadline
