"""N-of-M triggers and the cool-down: one breached month does not retrain, two of the
last three do, once, and a new episode inside the cool-down alerts without retraining."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workloads.monitoring.alerts import trigger_retraining
from workloads.monitoring.settings import MonitoringSettings
from workloads.monitoring.triggers import (
    Rule,
    Trigger,
    Verdict,
    evaluate,
    next_state,
    rules_from,
)
from workloads.monitoring.verdicts import brier_verdicts

RULE = Rule("drift_share", n=2, m=3, threshold=0.5)


def verdict(month: str, share: float | None, segments: list[str] | None = None) -> Verdict:
    judged = None if share is None else share >= RULE.threshold
    return Verdict(month, share, RULE.threshold, judged, segments=segments or [])


class TrainingRuns:
    """Stands in for the Prefect deployment run: records each start."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def __call__(self, deployment: str) -> str:
        self.started.append(deployment)
        return f"run-{len(self.started)}"


def test_n_of_m_with_the_cool_down(tmp_path) -> None:
    settings = MonitoringSettings(data_url="", monitoring_url=f"file://{tmp_path}")
    runs = TrainingRuns()
    shares = {
        "2018-01": 0.75,  # breached once: no retraining
        "2018-02": 0.25,
        "2018-03": 1.0,  # 2 of the last 3: fires, retrains
        "2018-04": 0.75,  # still firing: quiet
        "2018-05": 0.0,
        "2018-06": 0.0,  # 1 of 3: resolved
        "2018-07": 0.5,
        "2018-08": 0.6,  # fires again, inside the cool-down
    }
    state: dict = {}
    history: list[Verdict] = []
    fired_at, decisions = [], []
    start = datetime(2018, 1, 1, tzinfo=UTC)
    for day, (month, share) in enumerate(shares.items()):
        history.append(verdict(month, share, ["regional_office=East"] if share >= 0.5 else []))
        trigger = evaluate(RULE, history, state.get(RULE.name))
        state = next_state([trigger])
        if trigger.fired:
            fired_at.append(month)
            now = start + timedelta(days=day)  # all within the 14-day cool-down
            decisions.append(trigger_retraining(settings, month, runs, now=now)["status"])

    assert fired_at == ["2018-03", "2018-08"]
    assert decisions == ["started", "suppressed"]
    assert runs.started == ["training/monthly"]


def test_one_breached_month_does_not_fire() -> None:
    trigger = evaluate(RULE, [verdict("2018-01", 0.9)], None)
    assert not trigger.firing and not trigger.fired
    assert trigger.breached_months == ["2018-01"]


def test_the_window_skips_months_it_cannot_judge() -> None:
    months = [verdict("2018-01", 0.9), verdict("2018-02", None), verdict("2018-03", 0.8)]
    trigger = evaluate(RULE, months, None)
    assert trigger.fired and trigger.window == ["2018-01", "2018-03"]


def test_the_alert_names_rule_months_and_segments() -> None:
    months = [
        verdict("2018-02", 0.75, ["regional_office=East"]),
        verdict("2018-03", 1.0, ["regional_office=East", "series=GTK"]),
    ]
    text = evaluate(RULE, months, None).describe()
    assert "rule drift_share" in text and "2018-02: 0.750" in text and "2018-03: 1.000" in text
    assert "regional_office=East (2018-02, 2018-03)" in text and "series=GTK (2018-03)" in text


def test_the_cool_down_ends(tmp_path) -> None:
    settings = MonitoringSettings(
        data_url="", monitoring_url=f"file://{tmp_path}", cooldown_days=14
    )
    runs = TrainingRuns()
    now = datetime(2018, 3, 1, tzinfo=UTC)
    assert trigger_retraining(settings, "2018-02", runs, now=now)["status"] == "started"
    later = trigger_retraining(settings, "2018-03", runs, now=now + timedelta(days=15))
    assert later["status"] == "started" and len(runs.started) == 2


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"drift_share": {"n": 3, "m": 2}}, "n <= m"),
        ({"drift": {}}, "unknown monitoring rules"),
        ({"realised_brier": {"limit": 0.3}}, "limit"),
    ],
)
def test_bad_rules_are_refused(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules_from(config)


# The Brier rules, judged from a run's performance by month (what ``performance.by_month``
# and ``performance.segment_performance`` return), the way the monthly flow judges them.
REFERENCE_BRIER = 0.18  # the champion's out-of-time Brier: the limit is 0.18 + 0.02


def month_figures(
    month: str, estimated: float, realised: float | None = None, coverage: float = 0.0
) -> dict:
    return {
        "month": month,
        "label_coverage": coverage,
        "estimated": {"brier": estimated},
        "realised": None if realised is None else {"brier": realised},
    }


def office_figures(month: str, brier: float, coverage: float = 1.0) -> dict:
    """The East office's figures for ``month``: as bad as the month, on enough rows."""
    return {
        "month": month,
        "dimension": "regional_office",
        "segment": "East",
        "too_small": False,
        "label_coverage": coverage,
        "estimated_brier": brier,
        "realised_brier": brier,
    }


def test_estimated_brier_above_its_limit_in_n_of_m_months_fires_once(tmp_path) -> None:
    settings = MonitoringSettings(
        data_url="",
        monitoring_url=f"file://{tmp_path}",
        rules={"estimated_brier": {"n": 2, "m": 3, "max_increase": 0.02}},
    )
    rule = settings.rule("estimated_brier")
    runs = TrainingRuns()
    estimates = {
        "2018-01": 0.25,  # over 0.20 once: no retraining
        "2018-02": 0.19,
        "2018-03": 0.23,  # 2 of the last 3: fires, retrains
        "2018-04": 0.24,  # still firing: quiet
        "2018-05": 0.20,  # at the limit does not break it
        "2018-06": 0.15,  # 1 of 3: resolved
        "2018-07": 0.21,
        "2018-08": 0.26,  # fires again, inside the cool-down
    }
    state: dict = {}
    fired: list[Trigger] = []
    decisions = []
    start = datetime(2018, 1, 1, tzinfo=UTC)
    for day, month in enumerate(estimates):
        months = list(estimates)[: day + 1]
        performance = [month_figures(m, estimates[m]) for m in months]
        offices = [office_figures(m, estimates[m]) for m in months]
        verdicts = brier_verdicts(rule, months, performance, offices, REFERENCE_BRIER)
        trigger = evaluate(rule, verdicts, state.get(rule.name))
        state = next_state([trigger])
        if trigger.fired:
            fired.append(trigger)
            now = start + timedelta(days=day)  # all within the 14-day cool-down
            decisions.append(trigger_retraining(settings, month, runs, now=now)["status"])

    assert [t.window[-1] for t in fired] == ["2018-03", "2018-08"]
    assert fired[0].breached_months == ["2018-01", "2018-03"] and fired[0].limit == 0.2
    assert fired[0].segments == {"regional_office=East": ["2018-01", "2018-03"]}
    assert "rule estimated_brier" in fired[0].describe() and "2018-03: 0.230" in fired[0].describe()
    assert decisions == ["started", "suppressed"]
    assert runs.started == ["training/monthly"]


def test_estimated_brier_without_a_reference_is_not_judged() -> None:
    rule = Rule("estimated_brier", n=1, m=1, max_increase=0.02)
    verdicts = brier_verdicts(rule, ["2018-01"], [month_figures("2018-01", 0.9)], [], None)
    assert verdicts[0].breached is None
    assert not evaluate(rule, verdicts, None).firing


def test_realised_brier_waits_for_label_coverage_then_fires_once() -> None:
    rule = rules_from(
        {"realised_brier": {"n": 2, "m": 3, "max_increase": 0.02, "min_coverage": 0.5}}
    )[2]
    assert rule.name == "realised_brier"
    # Each run sees the same poor realised Brier (0.3, over the 0.2 limit) in every month,
    # on more closed deals as they close; the estimate stays below the limit throughout.
    coverage_by_run = [
        {"2018-01": 0.2, "2018-02": 0.1},  # nothing judged yet
        {"2018-01": 0.49, "2018-02": 0.3, "2018-03": 0.1},  # still nothing
        {"2018-01": 0.5, "2018-02": 0.45, "2018-03": 0.2},  # one judged month: 1 of 1
        {"2018-01": 0.7, "2018-02": 0.6, "2018-03": 0.3},  # two: fires
        {"2018-01": 0.8, "2018-02": 0.7, "2018-03": 0.55},  # still firing: quiet
    ]
    state: dict = {}
    firing, fired, windows = [], [], []
    for coverage in coverage_by_run:
        months = list(coverage)
        performance = [month_figures(m, 0.15, 0.3, coverage[m]) for m in months]
        offices = [office_figures(m, 0.3, coverage[m]) for m in months]
        verdicts = brier_verdicts(rule, months, performance, offices, REFERENCE_BRIER)
        trigger = evaluate(rule, verdicts, state.get(rule.name))
        state = next_state([trigger])
        firing.append(trigger.firing)
        fired.append(trigger.fired)
        windows.append(trigger.window)
        if trigger.window == []:
            notes = [v.note for v in verdicts]
            assert all("below 50%" in note for note in notes), notes

    assert firing == [False, False, False, True, True]
    assert fired == [False, False, False, True, False]
    assert windows[2] == ["2018-01"] and windows[3] == ["2018-01", "2018-02"]


def test_realised_brier_segments_below_coverage_are_not_named() -> None:
    rule = Rule("realised_brier", n=1, m=1, max_increase=0.02, min_coverage=0.5)
    performance = [month_figures("2018-01", 0.15, 0.3, 0.8)]
    offices = [office_figures("2018-01", 0.4, coverage=0.2)]
    (found,) = brier_verdicts(rule, ["2018-01"], performance, offices, REFERENCE_BRIER)
    assert found.breached and found.segments == []
