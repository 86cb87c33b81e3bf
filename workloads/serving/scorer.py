"""Win probabilities from a fitted pipeline (``ml.modeling.train``): a fast path
built once per model, proven equal to the pipeline before it is used.

The fitted pipeline is ``features -> model`` where the model is a calibrated
classifier (or a plain ``encode -> classifier`` pipeline). The fast path
computes the features with :class:`~workloads.serving.features.FastFeatures`,
encodes them with :func:`~workloads.serving.encoding.compile_encoder` and hands
the numpy rows to the fitted classifier and calibrators themselves (sklearn's
own ``predict_proba`` code on a calibrated copy whose inner estimator is the
bare classifier). :func:`build_scorer` checks it against the pipeline's own
``predict_proba`` on rows covering every known agent, product and account, and
falls back to the pipeline when they differ by more than ``TOLERANCE``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from ml.features import INPUT_COLUMNS
from ml.features.transformer import CATEGORICAL, NUMERIC
from workloads.serving.encoding import CompiledEncoder, NotSeparable, compile_encoder
from workloads.serving.features import FastFeatures, RawRows

TOLERANCE = 1e-9
log = logging.getLogger(__name__)


class NoFastPath(ValueError):
    """The pipeline's structure is not one the fast path knows."""


class PipelineScorer:
    """Scores through the fitted pipeline itself (one DataFrame per call)."""

    kind = "pipeline"

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.features = FastFeatures(pipeline.named_steps["features"])

    def predict(self, rows: RawRows, opportunity_ids: Sequence[str]) -> np.ndarray:
        return self.pipeline.predict_proba(input_frame(rows, opportunity_ids))[:, 1]


class FastScorer(PipelineScorer):
    """Scores numpy rows through the pipeline's fitted parts (see the module docstring)."""

    kind = "fast"

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(pipeline)
        model = pipeline.named_steps["model"]
        if isinstance(model, CalibratedClassifierCV):
            if len(model.classes_) != 2 or model.method not in ("sigmoid", "isotonic"):
                raise NoFastPath(f"calibration {model.method} of {len(model.classes_)} classes")
            members = [(c.estimator, c.calibrators[0]) for c in model.calibrated_classifiers_]
        else:
            members = [(model, None)]
        inner = self._unwrap(members[0][0])
        if any(
            self._unwrap_pipeline(e) is not self._unwrap_pipeline(members[0][0]) for e, _ in members
        ):
            raise NoFastPath("calibrated members do not share one fitted pipeline")
        self._encoder, self._classifier = inner
        self._calibrators = [c for _e, c in members]

    @staticmethod
    def _unwrap_pipeline(estimator: BaseEstimator) -> Pipeline:
        if isinstance(estimator, FrozenEstimator):
            estimator = estimator.estimator
        if not isinstance(estimator, Pipeline) or len(estimator.steps) != 2:
            raise NoFastPath(f"expected an encode -> classifier pipeline, got {estimator!r}")
        return estimator

    @classmethod
    def _unwrap(cls, estimator: BaseEstimator) -> tuple[CompiledEncoder, Any]:
        pipeline = cls._unwrap_pipeline(estimator)
        try:
            encoder = compile_encoder(pipeline.steps[0][1], CATEGORICAL, NUMERIC)
        except NotSeparable as exc:
            raise NoFastPath(str(exc)) from exc
        return encoder, pipeline.steps[1][1]

    def encode(self, rows: RawRows) -> np.ndarray:
        """The classifier's input for ``rows``."""
        categorical, numeric = self.features.transform(rows)
        return self._encoder.transform(categorical, numeric)

    def predict(self, rows: RawRows, opportunity_ids: Sequence[str]) -> np.ndarray:
        encoded = self.encode(rows)
        if self._calibrators == [None]:
            return self._classifier.predict_proba(encoded)[:, 1]
        # what CalibratedClassifierCV.predict_proba computes for two classes,
        # without its per-call input checks
        scores = _response(self._classifier, encoded)
        total = np.zeros(len(encoded))
        for calibrator in self._calibrators:
            p = _calibrate(calibrator, scores)
            total += np.where((p > 1.0) & (p <= 1.0 + 1e-5), 1.0, p)
        return total / len(self._calibrators)


def _response(classifier: Any, encoded: np.ndarray) -> np.ndarray:
    """The score sklearn's calibration reads: the decision function, else P(class 1)."""
    if hasattr(classifier, "decision_function"):
        return np.asarray(classifier.decision_function(encoded), dtype=float).reshape(-1)
    return classifier.predict_proba(encoded)[:, 1]


def _calibrate(calibrator: Any, scores: np.ndarray) -> np.ndarray:
    if hasattr(calibrator, "a_") and hasattr(calibrator, "b_"):  # sigmoid (Platt)
        return expit(-(calibrator.a_ * scores + calibrator.b_))
    return np.asarray(calibrator.predict(scores), dtype=float)


def input_frame(rows: RawRows, opportunity_ids: Sequence[str]) -> pd.DataFrame:
    """``rows`` as the DataFrame of ``INPUT_COLUMNS`` the fitted pipeline takes."""
    known = ~np.isnan(rows.engage_days)
    engage = np.full(len(known), np.datetime64("NaT"), dtype="datetime64[D]")
    engage[known] = rows.engage_days[known].astype(np.int64)
    frame = pd.DataFrame(
        {
            "opportunity_id": list(opportunity_ids),
            "sales_agent": list(rows.sales_agent),
            "product": list(rows.product),
            "account": pd.Series(list(rows.account), dtype=object),
            "deal_stage": "Engaging",
            "engage_date": pd.to_datetime(engage),
            "as_of_date": pd.to_datetime(np.asarray(rows.as_of_days).astype("datetime64[D]")),
        }
    )
    return frame[list(INPUT_COLUMNS)]


def probe_rows(features: FastFeatures, count: int = 400, seed: int = 0) -> RawRows:
    """Rows covering every known agent, product and account (and none), with engage
    and as-of dates spread over the fitted history, plus unknown-account rows."""
    rng = np.random.default_rng(seed)
    agents = sorted(features.agents)
    products = sorted(features.products)
    accounts = [*sorted(features.accounts), None, "account unseen in training"]
    days = features.history_days
    low, high = int(days.min()) - 60, int(days.max()) + 60
    as_of = rng.integers(low, high, count)
    engage = (as_of - rng.integers(0, 200, count)).astype(float)
    engage[rng.random(count) < 0.1] = np.nan
    return RawRows(
        sales_agent=[agents[i % len(agents)] for i in range(count)],
        product=[products[i % len(products)] for i in rng.permutation(count)],
        account=[accounts[i % len(accounts)] for i in rng.permutation(count)],
        engage_days=engage,
        as_of_days=as_of.astype(np.int64),
    )


def max_difference(scorer: PipelineScorer, pipeline: Pipeline, rows: RawRows) -> float:
    """The largest absolute probability difference between ``scorer`` and ``pipeline``."""
    ids = [f"probe-{i}" for i in range(len(rows.as_of_days))]
    expected = pipeline.predict_proba(input_frame(rows, ids))[:, 1]
    return float(np.max(np.abs(scorer.predict(rows, ids) - expected)))


def build_scorer(pipeline: Pipeline) -> PipelineScorer:
    """The fast scorer of ``pipeline`` when it equals the pipeline on probe rows,
    otherwise a scorer that calls the pipeline (slower, never wrong)."""
    try:
        fast = FastScorer(pipeline)
        difference = max_difference(fast, pipeline, probe_rows(fast.features))
    except NoFastPath as exc:
        log.warning("no fast path for this model (%s); scoring through the pipeline", exc)
        return PipelineScorer(pipeline)
    if difference > TOLERANCE:
        log.warning("fast path differs by %.3g from the pipeline; not used", difference)
        return PipelineScorer(pipeline)
    return fast
