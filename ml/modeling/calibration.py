"""One fitted calibrator of a two-class ``CalibratedClassifierCV``, as plain arrays
(``ml.modeling.compiled`` averages them as scikit-learn averages its members)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit


@dataclass(frozen=True)
class Calibrator:
    """One fitted calibrator of a two-class ``CalibratedClassifierCV``."""

    method: str  # "sigmoid" or "isotonic"
    a: float = 0.0
    b: float = 0.0
    x: np.ndarray = field(default_factory=lambda: np.empty(0))
    y: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated P(Won) for the classifier's ``scores`` (1-D array, same shape out): Platt's
        sigmoid, or isotonic interpolation clipped to the fitted range."""
        if self.method == "sigmoid":
            return expit(-(self.a * scores + self.b))
        return np.interp(np.clip(scores, self.x[0], self.x[-1]), self.x, self.y)

    def one(self, score: float) -> float:
        """:meth:`__call__` of a single score, without numpy's per-call overhead."""
        if self.method == "sigmoid":
            return float(expit(-(self.a * score + self.b)))
        return float(np.interp(min(max(score, self.x[0]), self.x[-1]), self.x, self.y))
