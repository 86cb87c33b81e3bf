"""Hyperparameter search with Optuna on time-ordered validation (fit on earlier
months, score log loss on later months), seeded so that a search repeats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import log_loss

from ml.modeling.families import FAMILIES


@dataclass(frozen=True)
class SearchResult:
    """The best parameters of one family and their validation log loss."""

    family: str
    params: dict[str, Any]
    val_log_loss: float
    trials: int


def search(
    family: str,
    train: tuple[pd.DataFrame, np.ndarray],
    val: tuple[pd.DataFrame, np.ndarray],
    *,
    trials: int,
    seed: int,
    timeout_s: float | None = None,
) -> SearchResult:
    """Search ``family``'s space for ``trials`` trials; lower validation log loss wins."""
    build, space = FAMILIES[family]
    (x_train, y_train), (x_val, y_val) = train, val

    def objective(trial: optuna.Trial) -> float:
        model = build(space(trial), seed).fit(x_train, y_train)
        return float(log_loss(y_val, model.predict_proba(x_val)[:, 1], labels=[0, 1]))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials, timeout=timeout_s)
    return SearchResult(family, dict(study.best_params), float(study.best_value), len(study.trials))
