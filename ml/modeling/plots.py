"""Figures logged with each training run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from ml.modeling.evaluate import calibration_points


def calibration_figure(y: np.ndarray, predictions: dict[str, np.ndarray]) -> Figure:
    """Observed win rate against predicted probability, one line per model."""
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    for name, p in predictions.items():
        points = calibration_points(y, p)
        ax.plot(points["predicted"], points["observed"], marker="o", label=name)
    ax.set(
        xlabel="predicted win probability",
        ylabel="observed win rate",
        title="Calibration on out-of-time months",
    )
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def roc_figure(y: np.ndarray, predictions: dict[str, np.ndarray]) -> Figure:
    """ROC curves, one per model."""
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    for name, p in predictions.items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=name)
    ax.set(
        xlabel="false positive rate", ylabel="true positive rate", title="ROC on out-of-time months"
    )
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def close(fig: Figure) -> None:
    """Release ``fig``'s memory (matplotlib keeps every open figure)."""
    plt.close(fig)
