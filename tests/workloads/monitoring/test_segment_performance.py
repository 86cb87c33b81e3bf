"""Performance by segment: a segment whose probabilities are worse shows it in its
estimated and realised Brier, one smaller than the minimum size is ``too_small`` with
no figures, and the Brier rules name the worse segment but never the small one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workloads.monitoring.estimation import PerformanceEstimator
from workloads.monitoring.performance import segment_performance
from workloads.monitoring.triggers import Rule
from workloads.monitoring.verdicts import brier_verdicts

MIN_SIZE = 30
MONTH = "2018-01"


def office(name: str, p: list[float], won: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prediction_month": MONTH,
            "regional_office": name,
            "manager": "Dustin Brinkman",
            "series": "GTX",
            "win_probability": p,
            "won": won,
        }
    )


@pytest.fixture(scope="module")
def estimator() -> PerformanceEstimator:
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, 400)
    return PerformanceEstimator(
        pd.DataFrame({"win_probability": p, "won": (rng.uniform(size=400) < p).astype(int)})
    )


@pytest.fixture(scope="module")
def month() -> pd.DataFrame:
    return pd.concat(
        [
            # sure and right: expected and realised Brier 0.01
            office("East", [0.9] * 30 + [0.1] * 30, [1.0] * 30 + [0.0] * 30),
            # no better than a coin: expected and realised Brier 0.25
            office("West", [0.5] * 60, [1.0] * 30 + [0.0] * 30),
            # as bad, on too few rows to judge
            office("Central", [0.5] * 10, [1.0] * 5 + [0.0] * 5),
            # enough rows, too few of them closed for a realised figure
            office("North", [0.9] * 40, [1.0] * 5 + [0.0] * 5 + [np.nan] * 30),
        ],
        ignore_index=True,
    )


def test_the_worse_segment_shows_in_its_figures(
    estimator: PerformanceEstimator, month: pd.DataFrame
) -> None:
    found = segment_performance(month, estimator, MIN_SIZE)
    offices = {e["segment"]: e for e in found if e["dimension"] == "regional_office"}
    assert set(offices) == {"East", "West", "Central", "North"}
    east, west = offices["East"], offices["West"]
    assert (east["rows"], east["labelled"], east["label_coverage"]) == (60, 60, 1.0)
    assert east["estimated_brier"] == pytest.approx(0.09)  # mean p (1 - p)
    assert east["realised_brier"] == pytest.approx(0.01)
    assert west["estimated_brier"] == pytest.approx(0.25)
    assert west["realised_brier"] == pytest.approx(0.25)
    assert not east["too_small"] and not west["too_small"]
    # every month and dimension is covered: one manager and one series hold every row
    assert {(e["month"], e["dimension"]) for e in found} == {
        (MONTH, "regional_office"),
        (MONTH, "manager"),
        (MONTH, "series"),
    }
    manager = next(e for e in found if e["dimension"] == "manager")
    assert manager["rows"] == len(month)


def test_a_segment_below_the_minimum_size_is_too_small_and_has_no_figures(
    estimator: PerformanceEstimator, month: pd.DataFrame
) -> None:
    offices = {
        e["segment"]: e
        for e in segment_performance(month, estimator, MIN_SIZE)
        if e["dimension"] == "regional_office"
    }
    central = offices["Central"]
    assert central["too_small"] and central["rows"] == 10 and central["label_coverage"] == 1.0
    figures = ("estimated_brier", "estimated_roc_auc", "realised_brier", "realised_roc_auc")
    assert [central[k] for k in figures] == [None] * 4
    north = offices["North"]  # large enough, but only 10 of 40 closed
    assert not north["too_small"] and north["label_coverage"] == 0.25
    assert north["estimated_brier"] == pytest.approx(0.09)
    assert north["realised_brier"] is None and north["realised_roc_auc"] is None


def test_the_brier_rules_name_the_worse_segment_not_the_small_one(
    estimator: PerformanceEstimator, month: pd.DataFrame
) -> None:
    segments = segment_performance(month, estimator, MIN_SIZE)
    performance = [{"month": MONTH, "label_coverage": 1.0, "estimated": {"brier": 0.2},
                    "realised": {"brier": 0.2}}]  # fmt: skip
    for rule in (
        Rule("estimated_brier", n=1, m=1, max_increase=0.02),
        Rule("realised_brier", n=1, m=1, max_increase=0.02, min_coverage=0.5),
    ):
        (verdict,) = brier_verdicts(rule, [MONTH], performance, segments, reference_brier=0.15)
        assert verdict.breached, rule.name
        assert "regional_office=West" in verdict.segments, rule.name
        assert not any("Central" in s or "East" in s for s in verdict.segments), rule.name
