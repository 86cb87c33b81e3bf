"""Which raw fields the model relies on: permutation importance on out-of-time rows.

Measured on the fields a caller sends (agent, product, account, stage, dates),
not on the derived features, because those are what a sales leader can read;
each field's value is the drop in ROC-AUC when that field is shuffled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

# an identifier, not information the model may use
_NOT_A_FIELD = ("opportunity_id",)


def field_importance(
    pipeline: Pipeline, inputs: pd.DataFrame, labels: np.ndarray, *, seed: int = 0
) -> dict[str, float]:
    """Mean ROC-AUC drop per raw input field when it is shuffled (3 repeats).

    Returns an empty dict when the rows hold a single class (AUC is undefined).
    """
    if len(np.unique(labels)) < 2:
        return {}
    fields = [c for c in inputs.columns if c not in _NOT_A_FIELD]
    result = permutation_importance(
        _FieldsOnly(pipeline, inputs),
        inputs[fields],
        labels,
        scoring=_roc_auc,
        n_repeats=3,
        random_state=seed,
    )
    return {
        field: round(float(v), 5) for field, v in zip(fields, result.importances_mean, strict=True)
    }


def _roc_auc(estimator: _FieldsOnly, x: pd.DataFrame, y: np.ndarray) -> float:
    return float(roc_auc_score(y, estimator.predict_proba(x)[:, 1]))


class _FieldsOnly:
    """The pipeline seen through the permuted fields; the identifier column is put back."""

    def __init__(self, pipeline: Pipeline, inputs: pd.DataFrame) -> None:
        self.pipeline = pipeline
        self.ids = inputs[list(_NOT_A_FIELD)].reset_index(drop=True)
        self.columns = list(inputs.columns)
        self.classes_ = np.array([0, 1])

    def fit(self, *_args: object) -> _FieldsOnly:
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        full = pd.concat([self.ids, x.reset_index(drop=True)], axis=1)[self.columns]
        return self.pipeline.predict_proba(full)
