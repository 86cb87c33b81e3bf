"""CBPE: the estimator against its published definition on fixed numbers, and against
realised performance on generated data without drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml.features import INPUT_COLUMNS
from ml.features.rows import labelled_rows
from ml.modeling.pyfunc import load_pipeline
from ml.runs import load_tables
from ml.snapshots import month_end
from workloads.monitoring.estimation import PerformanceEstimator
from workloads.monitoring.reference import champion_reference


def definition_roc_auc(p: list[float]) -> float:
    """NannyML's CBPE ROC-AUC in closed form: the area under the expected ROC curve,
    i.e. sum over ranked pairs j before i of p_j (1 - p_i), plus half of each deal
    paired with itself, over (sum p)(sum 1 - p)."""
    ranked = sorted(p, reverse=True)
    pairs = sum(ranked[j] * (1 - ranked[i]) for i in range(len(ranked)) for j in range(i))
    self_pairs = 0.5 * sum(q * (1 - q) for q in ranked)
    return (pairs + self_pairs) / (sum(ranked) * sum(1 - q for q in ranked))


@pytest.fixture(scope="module")
def estimator() -> PerformanceEstimator:
    """Fitted on a fixed, calibrated reference."""
    rng = np.random.default_rng(3)
    p = rng.uniform(0.2, 0.9, 400)
    return PerformanceEstimator(
        pd.DataFrame({"win_probability": p, "won": (rng.random(400) < p).astype(int)})
    )


@pytest.mark.parametrize(
    "p",
    [
        [0.9, 0.6, 0.2],
        [0.15, 0.35, 0.35, 0.5, 0.62, 0.62, 0.7, 0.81, 0.93, 0.4],
    ],
)
def test_estimates_match_the_definition(estimator: PerformanceEstimator, p: list[float]) -> None:
    found = estimator.estimate(np.array(p))

    assert found.rows == len(p)
    assert found.roc_auc == pytest.approx(definition_roc_auc(p), abs=1e-4)
    assert found.brier == pytest.approx(np.mean([q * (1 - q) for q in p]))
    assert found.wins == pytest.approx(sum(p))
    spread = 3 * np.sqrt(sum(q * (1 - q) for q in p))
    assert found.wins_band == pytest.approx((max(0, sum(p) - spread), min(len(p), sum(p) + spread)))
    low, high = found.roc_auc_band
    assert low < found.roc_auc < high
    light = estimator.estimate(np.array(p), with_band=False)
    assert light.roc_auc == pytest.approx(found.roc_auc, abs=1e-6) and light.roc_auc_band is None


def test_hand_computed_value() -> None:
    """The first case above, worked by hand: 1.805 / 2.21."""
    assert definition_roc_auc([0.9, 0.6, 0.2]) == pytest.approx(1.805 / 2.21)


def test_no_predictions_give_no_figures(estimator: PerformanceEstimator) -> None:
    found = estimator.estimate(np.array([]))
    assert (found.rows, found.roc_auc, found.brier, found.wins) == (0, None, None, 0.0)


def test_the_reference_needs_both_outcomes() -> None:
    with pytest.raises(ValueError, match="both Won and Lost"):
        PerformanceEstimator(pd.DataFrame({"win_probability": [0.4, 0.6], "won": [1, 1]}))


def test_estimated_and_realised_agree_without_drift(trained: dict[str, str], tmp_path) -> None:
    """The champion's own out-of-time months, scored again: what CBPE expects from the
    probabilities alone lies within its band of what the closed deals realised."""
    reference = champion_reference(
        trained["data_url"], f"file://{tmp_path}", "crm-test", "champion"
    )
    estimator = PerformanceEstimator(reference.rows)
    deals = load_tables(trained["data_url"], trained["version"], trained["month"]).deals
    months = [month_end(m) for m in trained["eval_months"]]
    rows = labelled_rows(deals, months, deals["close_date"].max()).sample(frac=0.7, random_state=5)
    model = load_pipeline("models:/crm-test@champion")
    p = model.predict_proba(rows[list(INPUT_COLUMNS)])[:, 1]
    y = rows["won"].to_numpy()

    found = estimator.estimate(p)

    assert found.roc_auc_band[0] <= roc_auc_score(y, p) <= found.roc_auc_band[1]
    assert found.brier_band[0] <= brier_score_loss(y, p) <= found.brier_band[1]
    assert found.wins_band[0] <= y.sum() <= found.wins_band[1]
