"""Train: point-in-time features, a tuned and calibrated model per family, the best
family chosen on validation, evaluated out of time against the baselines.

The result's ``pipeline`` is one fitted scikit-learn object taking raw
opportunity fields plus ``as_of_date`` (``ml.features.INPUT_COLUMNS``) and
returning win probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from ml.features import INPUT_COLUMNS, CrmTables, PointInTimeFeatures
from ml.modeling.evaluate import baseline_predictions, metrics
from ml.modeling.families import FAMILIES
from ml.modeling.splits import Splits, time_splits
from ml.modeling.tune import SearchResult, search
from ml.settings import TrainingSettings


@dataclass
class FamilyResult:
    """One family after tuning and calibration, with its validation and evaluation metrics."""

    search: SearchResult
    model: CalibratedClassifierCV
    eval_metrics: dict[str, float]
    eval_predictions: np.ndarray


@dataclass
class TrainingResult:
    """Everything a training run produced, ready to log and to gate."""

    pipeline: Pipeline
    family: str
    families: dict[str, FamilyResult]
    baselines: dict[str, dict[str, float]]
    baseline_predictions: dict[str, np.ndarray]
    splits: Splits
    feature_names: list[str]
    eval_inputs: pd.DataFrame
    eval_labels: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def eval_metrics(self) -> dict[str, float]:
        """The chosen family's metrics on the out-of-time evaluation rows (``roc_auc``, ``brier``,
        ...)."""
        return self.families[self.family].eval_metrics


def _tail(x: pd.DataFrame, y: np.ndarray, limit: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The most recent ``limit`` rows (rows are in time order)."""
    return (x.iloc[-limit:], y[-limit:]) if len(x) > limit else (x, y)


def train(tables: CrmTables, settings: TrainingSettings) -> TrainingResult:
    """Train every family of ``settings`` on ``tables`` (deals as known at training time)."""
    with threadpool_limits(limits=settings.threads):
        return _train(tables, settings)


def _train(tables: CrmTables, settings: TrainingSettings) -> TrainingResult:
    splits = time_splits(tables.deals, settings.eval_months, settings.val_months)
    features = PointInTimeFeatures().fit(tables=tables)
    x = {name: features.transform(getattr(splits, name)) for name in ("train", "val", "eval")}
    y = {name: getattr(splits, name)["won"].to_numpy() for name in ("train", "val", "eval")}
    tune_train = _tail(x["train"], y["train"], settings.max_tuning_rows)
    results = {}
    for family in settings.families:
        found = search(
            family,
            tune_train,
            (x["val"], y["val"]),
            trials=settings.trials,
            seed=settings.seed,
            timeout_s=settings.timeout_s,
        )
        build, _space = FAMILIES[family]
        base = build(found.params, settings.seed).fit(x["train"], y["train"])
        calibrated = CalibratedClassifierCV(FrozenEstimator(base), method=settings.calibration)
        calibrated.fit(x["val"], y["val"])
        p = calibrated.predict_proba(x["eval"])[:, 1]
        results[family] = FamilyResult(found, calibrated, metrics(y["eval"], p), p)
    chosen = min(results, key=lambda f: results[f].search.val_log_loss)
    pipeline = Pipeline([("features", features), ("model", results[chosen].model)])
    base_p = baseline_predictions(x["eval"])
    return TrainingResult(
        pipeline=pipeline,
        family=chosen,
        families=results,
        baselines={name: metrics(y["eval"], p) for name, p in base_p.items()},
        baseline_predictions=base_p,
        splits=splits,
        feature_names=list(features.get_feature_names_out()),
        eval_inputs=splits.eval[list(INPUT_COLUMNS)].reset_index(drop=True),
        eval_labels=y["eval"],
        info={"rows": {k: len(v) for k, v in y.items()}, "months": splits.months},
    )
