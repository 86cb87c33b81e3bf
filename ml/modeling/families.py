"""The model families: a logistic regression and a gradient-boosted tree ensemble.

Each family is a preprocessing + classifier pipeline over the point-in-time
features, with an Optuna search space.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from ml.features.transformer import CATEGORICAL, NUMERIC


def logistic(params: dict[str, Any], seed: int) -> Pipeline:
    """One-hot categories, scaled numbers, L2 logistic regression."""
    encode = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20), list(CATEGORICAL)),
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                list(NUMERIC),
            ),
        ]
    )
    model = LogisticRegression(C=params.get("C", 1.0), max_iter=2000)
    return Pipeline([("encode", encode), ("classifier", model)])


MAX_CATEGORIES = 255
"""Native categorical splits take at most 255 levels (``max_bins``); a larger sales
force keeps its 254 most frequent agents and groups the rest into one level."""


def boosting(params: dict[str, Any], seed: int) -> Pipeline:
    """Ordinal-coded categories (native categorical splits, rare levels grouped beyond
    :data:`MAX_CATEGORIES`), histogram gradient boosting."""
    encode = ColumnTransformer(
        [
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=-1,
                    encoded_missing_value=-1,
                    max_categories=MAX_CATEGORIES,
                ),
                list(CATEGORICAL),
            ),
            ("num", "passthrough", list(NUMERIC)),
        ]
    )
    model = HistGradientBoostingClassifier(
        learning_rate=params.get("learning_rate", 0.05),
        max_iter=params.get("max_iter", 150),
        max_leaf_nodes=params.get("max_leaf_nodes", 15),
        min_samples_leaf=params.get("min_samples_leaf", 100),
        l2_regularization=params.get("l2_regularization", 1.0),
        categorical_features=list(range(len(CATEGORICAL))),
        early_stopping=False,
        random_state=seed,
    )
    return Pipeline([("encode", encode), ("classifier", model)])


def logistic_space(trial: optuna.Trial) -> dict[str, Any]:
    """Optuna's search space of the logistic regression: ``{"C": float}`` (inverse regularisation,
    1e-3 to 10, log scale)."""
    return {"C": trial.suggest_float("C", 1e-3, 10.0, log=True)}


def boosting_space(trial: optuna.Trial) -> dict[str, Any]:
    """Optuna's search space of the gradient boosting: ``learning_rate``, ``max_iter``,
    ``max_leaf_nodes``, ``min_samples_leaf`` and ``l2_regularization``, as keyword arguments of
    ``HistGradientBoostingClassifier``."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "max_iter": trial.suggest_int("max_iter", 50, 300, step=50),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 4, 48),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 20, 400, log=True),
        "l2_regularization": trial.suggest_float("l2_regularization", 1e-3, 10.0, log=True),
    }


Builder = Callable[[dict[str, Any], int], Pipeline]
Space = Callable[[optuna.Trial], dict[str, Any]]
FAMILIES: dict[str, tuple[Builder, Space]] = {
    "logistic": (logistic, logistic_space),
    "boosting": (boosting, boosting_space),
}
