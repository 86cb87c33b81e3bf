"""Each rule's verdict on each month of the lookback, from a run's figures.

Drift verdicts read every month's own result (its drift was measured when that month
was monitored); Brier verdicts read the current run's performance by month, since
realised figures grow as deals close. A month's verdict lists the segments that break
the same limit on their own (segments too small to judge never do).
"""

from __future__ import annotations

from typing import Any

from workloads.monitoring.segments import flagged
from workloads.monitoring.triggers import Rule, Verdict


def drift_verdicts(
    rule: Rule, months: list[str], results: dict[str, dict[str, Any]]
) -> list[Verdict]:
    """Verdicts of the ``drift_share`` rule; ``results`` maps a month to its result
    document (``drift`` and ``segments.drift``)."""
    found = []
    for month in months:
        result = results.get(month) or {}
        drift = result.get("drift") or {}
        share = drift.get("share")
        if share is None:
            found.append(Verdict(month, None, rule.threshold, None, "no drift measured"))
            continue
        breached = share >= rule.threshold
        segments = flagged((result.get("segments") or {}).get("drift", [])) if breached else []
        found.append(Verdict(month, share, rule.threshold, breached, segments=segments))
    return found


def _segment_breaches(
    rule: Rule, month: str, entries: list[dict[str, Any]], key: str, limit: float
) -> list[str]:
    found = []
    for e in entries:
        if e["month"] != month or e["too_small"] or e.get(key) is None:
            continue
        if key.startswith("realised") and (e["label_coverage"] or 0) < rule.min_coverage:
            continue
        if e[key] > limit:
            found.append(f"{e['dimension']}={e['segment']}")
    return found


def _brier_of(rule: Rule, entry: dict[str, Any]) -> tuple[float | None, str]:
    """The month's Brier for the rule, or None and why it cannot be judged."""
    if rule.name == "estimated_brier":
        value = (entry.get("estimated") or {}).get("brier")
        return value, "" if value is not None else "no estimate"
    coverage = entry.get("label_coverage") or 0.0
    if coverage < rule.min_coverage:
        return None, f"label coverage {coverage:.0%} below {rule.min_coverage:.0%}"
    done = entry.get("realised")
    if not done or done.get("brier") is None:
        return None, "too few closed deals of both outcomes"
    return done["brier"], ""


def brier_verdicts(
    rule: Rule,
    months: list[str],
    performance: list[dict[str, Any]],
    segment_performance: list[dict[str, Any]],
    reference_brier: float | None,
) -> list[Verdict]:
    """Verdicts of the ``estimated_brier`` or ``realised_brier`` rule."""
    limit = rule.limit(reference_brier)
    by_month = {p["month"]: p for p in performance}
    key = "estimated_brier" if rule.name == "estimated_brier" else "realised_brier"
    found = []
    for month in months:
        entry = by_month.get(month)
        if entry is None or limit is None:
            found.append(Verdict(month, None, limit, None, "no predictions"))
            continue
        value, why = _brier_of(rule, entry)
        if value is None:
            found.append(Verdict(month, None, limit, None, why))
            continue
        breached = value > limit
        segments = (
            _segment_breaches(rule, month, segment_performance, key, limit) if breached else []
        )
        found.append(Verdict(month, value, limit, breached, segments=segments))
    return found


def all_verdicts(
    rules: list[Rule],
    months: list[str],
    results: dict[str, dict[str, Any]],
    performance: list[dict[str, Any]],
    segment_performance: list[dict[str, Any]],
    reference_brier: float | None,
) -> dict[str, list[Verdict]]:
    """Verdicts of every enabled rule, by rule name."""
    found = {}
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.name == "drift_share":
            found[rule.name] = drift_verdicts(rule, months, results)
        else:
            found[rule.name] = brier_verdicts(
                rule, months, performance, segment_performance, reference_brier
            )
    return found
