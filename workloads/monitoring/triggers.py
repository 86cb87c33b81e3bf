"""Retraining triggers that do not flap: a rule fires when it breaks in N of the last M
months it could judge, and stays quiet while it keeps firing.

Rules (configured per environment, ``monitoring.rules`` of ``environments/*.yaml``):

- ``drift_share``: the month's share of drifted monitored columns reaches ``threshold``;
- ``estimated_brier``: the month's CBPE-estimated Brier score exceeds the champion's
  reference Brier (its out-of-time evaluation) by more than ``max_increase``;
- ``realised_brier``: the same for the realised Brier score, judged only once the
  month's label coverage reaches ``min_coverage``.

A month a rule cannot judge (no predictions, too few closed deals) is left out of its
window: the window is the last ``m`` *judged* months within the lookback. A rule whose
window holds at least ``n`` breached months is *firing*. An alert (and a retraining,
subject to the cool-down) follows only when a rule starts firing; while it keeps
firing nothing more is sent, and once it stops (fewer than ``n`` breaches in its
window) it may fire again later. This is how Databricks Lakehouse Monitoring and
Prometheus Alertmanager keep one episode to one notification.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

RULES = ("drift_share", "estimated_brier", "realised_brier")


@dataclass(frozen=True)
class Rule:
    """One N-of-M rule; ``threshold`` for drift share, ``max_increase`` for Brier rules."""

    name: str
    n: int = 2
    m: int = 3
    enabled: bool = True
    threshold: float = 0.5
    max_increase: float = 0.02
    min_coverage: float = 0.5

    def __post_init__(self) -> None:
        if self.name not in RULES:
            raise ValueError(f"unknown rule {self.name!r}; known: {', '.join(RULES)}")
        if not 1 <= self.n <= self.m:
            raise ValueError(f"rule {self.name}: needs 1 <= n <= m, got n={self.n}, m={self.m}")

    def limit(self, reference_brier: float | None) -> float | None:
        """The value a month must reach (drift share) or exceed (Brier) to breach."""
        if self.name == "drift_share":
            return self.threshold
        return None if reference_brier is None else round(reference_brier + self.max_increase, 6)


def rules_from(config: dict[str, dict[str, Any]] | None) -> list[Rule]:
    """Rules from ``{name: {n, m, threshold | max_increase, min_coverage, enabled}}``;
    a rule not named keeps its defaults. Raises ValueError for an unknown name or key."""
    config = config or {}
    unknown = sorted(set(config) - set(RULES))
    if unknown:
        raise ValueError(f"unknown monitoring rules {unknown}; known: {', '.join(RULES)}")
    try:
        return [Rule(name=name, **(config.get(name) or {})) for name in RULES]
    except TypeError as exc:
        raise ValueError(f"monitoring rules: {exc}") from None


@dataclass(frozen=True)
class Verdict:
    """One rule on one month: ``breached`` is None when the month could not be judged."""

    month: str
    value: float | None
    limit: float | None
    breached: bool | None
    note: str = ""
    segments: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Trigger:
    """Where a rule stands after a month: its window, whether it fires now."""

    rule: str
    n: int
    m: int
    window: list[str]
    breached_months: list[str]
    firing: bool
    fired: bool
    since: str | None
    segments: dict[str, list[str]]
    values: dict[str, float | None]
    limit: float | None

    def as_dict(self) -> dict[str, Any]:
        """Every field, as stored in the month's results."""
        return asdict(self)

    def describe(self) -> str:
        """One sentence for people: the rule, its months and its segments."""
        values = ", ".join(
            f"{m}: {self.values[m]:.3f}"
            for m in self.breached_months
            if self.values.get(m) is not None
        )
        text = (
            f"rule {self.rule} broke in {len(self.breached_months)} of the last {len(self.window)} "
            f"judged months (needs {self.n} of {self.m}; limit {self.limit}): {values}"
        )
        if self.segments:
            parts = [f"{seg} ({', '.join(months)})" for seg, months in self.segments.items()]
            text += "; segments: " + "; ".join(parts)
        return text


def evaluate(rule: Rule, verdicts: list[Verdict], state: dict[str, Any] | None) -> Trigger:
    """The rule's trigger over ``verdicts`` (oldest month first) given its last ``state``
    (``{"firing": bool, "since": month}``; None when it never fired)."""
    judged = [v for v in verdicts if v.breached is not None][-rule.m :]
    breached = [v for v in judged if v.breached]
    firing = len(breached) >= rule.n
    was_firing = bool(state and state.get("firing"))
    segments: dict[str, list[str]] = {}
    for verdict in breached:
        for segment in verdict.segments:
            segments.setdefault(segment, []).append(verdict.month)
    since = (state or {}).get("since") if was_firing and firing else None
    return Trigger(
        rule=rule.name,
        n=rule.n,
        m=rule.m,
        window=[v.month for v in judged],
        breached_months=[v.month for v in breached],
        firing=firing,
        fired=firing and not was_firing,
        since=since or (breached[-1].month if firing else None),
        segments=segments,
        values={v.month: v.value for v in judged},
        limit=judged[-1].limit if judged else None,
    )


def next_state(triggers: list[Trigger]) -> dict[str, dict[str, Any]]:
    """The state to keep for the next run: per rule, whether it fires and since when."""
    return {t.rule: {"firing": t.firing, "since": t.since} for t in triggers}
