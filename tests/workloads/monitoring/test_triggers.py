"""N-of-M triggers and the cool-down: one breached month does not retrain, two of the
last three do, once, and a new episode inside the cool-down alerts without retraining."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workloads.monitoring.alerts import trigger_retraining
from workloads.monitoring.settings import MonitoringSettings
from workloads.monitoring.triggers import Rule, Verdict, evaluate, next_state, rules_from

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
