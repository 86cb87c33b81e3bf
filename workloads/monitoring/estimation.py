"""Confidence-based performance estimation (CBPE): how a month of predictions will score
once its deals have closed, from the probabilities alone, before any label exists.

CBPE (NannyML, "Confidence-based Performance Estimation") rests on one assumption:
the probabilities are calibrated, so a deal scored ``p`` is Won with probability ``p``.
The pipeline calibrates every model on its validation months, so the probabilities
are taken as they are served: NannyML's own isotonic recalibration is switched off,
because refitted on a reference of a few hundred to a few thousand rows it overfits
(on perfectly calibrated generated data it raised the ROC-AUC estimate by 0.01-0.02
above the realised value in two seeds of three).

- ROC-AUC: NannyML's CBPE estimate (the area under the expected ROC curve), with its
  band of the estimate +- 3 sampling errors (scaled from the champion's reference:
  its out-of-time rows, whose outcomes are known).
- Brier score: the expected Brier of ``p`` when each deal is Won with probability
  ``p``: mean of ``p (1-p)``; band +- 3 standard errors, ``sqrt(sum p (1-p) (1-2p)^2) / n``
  (each deal's squared error has variance ``p (1-p) (1-2p)^2``).
- Win count: ``sum p``, a Poisson-binomial count; band +- 3 ``sqrt(sum p (1-p))``.

CBPE cannot see concept drift (the same deal becoming less likely to be Won): that is
what realised performance, once labels arrive, is for.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

PROBA, PREDICTED, TARGET = "win_probability", "predicted_won", "won"
SIGMAS = 3.0
"""Width of every band in standard errors, as NannyML draws its confidence band."""


@dataclass(frozen=True)
class Estimate:
    """Estimated performance of one set of predictions (``rows`` of them).

    ``roc_auc`` is None for fewer than two rows; bands are ``(lower, upper)``.
    """

    rows: int
    roc_auc: float | None
    roc_auc_band: tuple[float, float] | None
    brier: float | None
    brier_band: tuple[float, float] | None
    wins: float
    wins_band: tuple[float, float]

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, rounded to 6 digits; bands as two-element lists."""
        return {key: _rounded(value) for key, value in asdict(self).items()}


def _rounded(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    return value


def _nannyml() -> Any:
    # NannyML sends usage statistics to a third party unless this variable is set:
    # the platform never phones home
    os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
    import nannyml

    return nannyml


def expected_brier(p: np.ndarray) -> tuple[float, float]:
    """Expected Brier score of calibrated probabilities ``p`` (one per deal) and its
    standard error; raises ValueError when ``p`` is empty."""
    if len(p) == 0:
        raise ValueError("no predictions to estimate a Brier score from")
    variance = p * (1 - p)
    return float(np.mean(variance)), float(np.sqrt(np.sum(variance * (1 - 2 * p) ** 2)) / len(p))


def expected_wins(p: np.ndarray) -> tuple[float, float]:
    """Expected number of Won deals among Bernoulli(``p``) outcomes, and its standard error."""
    return float(np.sum(p)), float(np.sqrt(np.sum(p * (1 - p))))


def _band(mean: float, error: float, low: float, high: float) -> tuple[float, float]:
    return max(low, mean - SIGMAS * error), min(high, mean + SIGMAS * error)


class PerformanceEstimator:
    """CBPE fitted on a reference: rows with ``win_probability`` and ``won`` (0/1).

    Raises ValueError when the reference lacks either column or holds a single outcome.
    """

    def __init__(self, reference: pd.DataFrame) -> None:
        missing = [c for c in (PROBA, TARGET) if c not in reference]
        if missing:
            raise ValueError(f"the reference lacks columns {missing}")
        labelled = reference.dropna(subset=[PROBA, TARGET])
        if labelled[TARGET].nunique() < 2:
            raise ValueError("the reference needs both Won and Lost deals to fit CBPE")
        self.reference_brier = float(
            np.mean((labelled[PROBA].to_numpy(float) - labelled[TARGET].to_numpy(float)) ** 2)
        )
        nml = _nannyml()
        from nannyml.calibration import NoopCalibrator

        self._cbpe = nml.CBPE(
            y_pred_proba=PROBA,
            y_pred=PREDICTED,
            y_true=TARGET,
            problem_type="classification_binary",
            metrics=["roc_auc"],
            chunk_number=1,  # the caller hands over exactly the rows of one chunk
            calibrator=NoopCalibrator(),  # calibrated at training (see the module docstring)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._cbpe.fit(self._frame(labelled[PROBA], labelled[TARGET]))

    @staticmethod
    def _frame(p: Any, won: Any = None) -> pd.DataFrame:
        p = np.asarray(p, dtype=float)
        frame = pd.DataFrame({PROBA: p, PREDICTED: (p >= 0.5).astype(int)})
        if won is not None:
            frame[TARGET] = np.asarray(won, dtype=int)
        return frame

    def _roc_auc(
        self, p: np.ndarray, with_band: bool
    ) -> tuple[float | None, tuple[float, float] | None]:
        if len(p) < 2:
            return None, None
        if not with_band:  # NannyML's estimate alone, without its chunk and result machinery
            from nannyml.performance_estimation.confidence_based.metrics import estimate_roc_auc

            with np.errstate(divide="ignore", invalid="ignore"):
                value = float(estimate_roc_auc(p, p))
            return (None if math.isnan(value) else value), None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = self._cbpe.estimate(self._frame(p)).filter(period="analysis").to_df()
        row = result.iloc[-1]
        value = float(row[("roc_auc", "value")])
        if math.isnan(value):
            return None, None
        low = float(row[("roc_auc", "lower_confidence_boundary")])
        high = float(row[("roc_auc", "upper_confidence_boundary")])
        return value, (low, high)

    def estimate(self, p: np.ndarray | pd.Series, with_band: bool = True) -> Estimate:
        """Estimated ROC-AUC, Brier score and win count of served probabilities ``p``
        (one month, or one segment of a month). An empty ``p`` gives 0 wins and Nones.
        Without ``with_band`` the ROC-AUC has no band (cheaper, for segments)."""
        probabilities = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
        if len(probabilities) == 0:
            return Estimate(0, None, None, None, None, 0.0, (0.0, 0.0))
        auc, auc_band = self._roc_auc(probabilities, with_band)
        brier, brier_error = expected_brier(probabilities)
        wins, wins_error = expected_wins(probabilities)
        return Estimate(
            rows=len(probabilities),
            roc_auc=auc,
            roc_auc_band=auc_band,
            brier=brier,
            brier_band=_band(brier, brier_error, 0.0, 1.0),
            wins=wins,
            wins_band=_band(wins, wins_error, 0.0, float(len(probabilities))),
        )
