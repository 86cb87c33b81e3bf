"""Win probabilities from a fitted pipeline (``ml.modeling.train``), by the
fastest path proven equal to the pipeline when the model is loaded.

The fitted pipeline is ``features -> model`` where the model is a calibrated
classifier (or a plain ``encode -> classifier`` pipeline), or a baseline.
Every fast path computes the features with
:class:`~workloads.serving.features.FastFeatures` and encodes them with
:func:`~workloads.serving.encoding.compile_encoder` (dicts and numpy). Then:

- :class:`CompiledScorer` (``compiled``): the compiled classifier and
  calibrators of ``ml.modeling.compiled`` (Treelite for tree ensembles, as
  native code built by TL2cgen where it can be, else GTIL; numpy
  for a linear model, the rate feature for a baseline), logged with the
  version at training time, or compiled at load for a version logged without
  one. Checked against the pipeline's ``predict_proba`` on the evaluation rows
  saved with it and on probe rows to ``ml.modeling.compiled.TOLERANCE``.
- when it cannot be used (training could not compile it, the check fails),
  :class:`FastScorer` / :class:`RateScorer` (``fast``): the fitted classifier
  and calibrators themselves on the numpy rows, checked to ``TOLERANCE``;
- else :class:`PipelineScorer` (``pipeline``): the pipeline on a DataFrame.

The scorer's ``compiled`` attribute says whether the compiled model is used,
which runtime, where it came from and, when it is not used (or a tree
ensemble scores with GTIL instead of native code), why.
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
from typing_extensions import override

from ml.features import INPUT_COLUMNS
from ml.features.transformer import CATEGORICAL, NUMERIC
from ml.modeling import compiled as compiling
from ml.modeling.baseline import RateBaseline
from ml.modeling.compiled import CompiledModel, NotCompilable, Served
from ml.modeling.native import checked_native
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
        self.compiled: dict[str, Any] = {"used": False}

    def predict(self, rows: RawRows, opportunity_ids: Sequence[str]) -> np.ndarray:
        """Win probabilities of ``rows``: a float array of shape ``(len(rows),)``, each P(Won) in
        [0, 1], in row order. ``opportunity_ids`` (one per row) index the DataFrame the pipeline
        sees. Raises what the pipeline raises for values it cannot transform."""
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

    @override
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


class RateScorer(PipelineScorer):
    """Scores a baseline served as the model (``ml.modeling.baseline.RateBaseline``): its
    win rate is one of the point-in-time features, read from the fast features."""

    kind = "fast"

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(pipeline)
        model = pipeline.named_steps["model"]
        if not isinstance(model, RateBaseline) or model.column not in NUMERIC:
            raise NoFastPath(f"expected a rate baseline, got {model!r}")
        self._column = NUMERIC.index(model.column)

    @override
    def predict(self, rows: RawRows, opportunity_ids: Sequence[str]) -> np.ndarray:
        _categorical, numeric = self.features.transform(rows)
        return np.clip(numeric[:, self._column], 0.0, 1.0)


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


SINGLE_ROW_CHECKS = 40
"""Probe rows also scored one at a time at load: a single row takes its own path."""


def max_difference(scorer: PipelineScorer, pipeline: Pipeline, rows: RawRows) -> float:
    """The largest absolute probability difference between ``scorer`` and ``pipeline``,
    on ``rows`` as one batch and on the first :data:`SINGLE_ROW_CHECKS` one at a time."""
    ids = [f"probe-{i}" for i in range(len(rows.as_of_days))]
    expected = pipeline.predict_proba(input_frame(rows, ids))[:, 1]
    difference = float(np.max(np.abs(scorer.predict(rows, ids) - expected)))
    for i in range(min(SINGLE_ROW_CHECKS, len(ids))):
        alone = scorer.predict(row_of(rows, i), ids[i : i + 1])
        difference = max(difference, abs(float(alone[0]) - float(expected[i])))
    return difference


def row_of(rows: RawRows, i: int) -> RawRows:
    """Row ``i`` of ``rows`` alone."""
    return RawRows(
        sales_agent=rows.sales_agent[i : i + 1],
        product=rows.product[i : i + 1],
        account=rows.account[i : i + 1],
        engage_days=rows.engage_days[i : i + 1],
        as_of_days=rows.as_of_days[i : i + 1],
    )


def fast_scorer(pipeline: Pipeline) -> PipelineScorer:
    """The fast scorer of ``pipeline`` when it equals the pipeline on probe rows,
    otherwise a scorer that calls the pipeline (slower, never wrong)."""
    try:
        baseline = isinstance(pipeline.named_steps["model"], RateBaseline)
        fast = RateScorer(pipeline) if baseline else FastScorer(pipeline)
        difference = max_difference(fast, pipeline, probe_rows(fast.features))
    except NoFastPath as exc:
        log.warning("no fast path for this model (%s); scoring through the pipeline", exc)
        return PipelineScorer(pipeline)
    if difference > TOLERANCE:
        log.warning("fast path differs by %.3g from the pipeline; not used", difference)
        return PipelineScorer(pipeline)
    return fast


def build_scorer(served: Served | Pipeline) -> PipelineScorer:
    """The compiled scorer of ``served`` when it equals the pipeline (see the module
    docstring), else :func:`fast_scorer`; the result's ``compiled`` says which and why."""
    if isinstance(served, Pipeline):
        served = Served(served)
    try:
        scorer = _compiled_scorer(served)
    except (NotCompilable, NoFastPath, _Differs) as exc:
        problem = str(exc)
    except Exception as exc:  # a runtime that fails to load or run: never fail the load
        problem = f"{type(exc).__name__}: {exc}"
    else:
        if scorer.compiled.get("problem"):  # a tree ensemble without its native code
            log.warning("%s", scorer.compiled["problem"])
        return scorer
    fallback = fast_scorer(served.pipeline)
    fallback.compiled = {"used": False, "problem": problem}
    log.warning("compiled scoring not used (%s); scoring with the %s path", problem,
                fallback.kind)  # fmt: skip
    return fallback


class _Differs(ValueError):
    """The compiled model differs from the pipeline by more than the tolerance."""


def _compiled_scorer(served: Served) -> CompiledScorer:
    manifest = served.manifest or {}
    if manifest.get("problem"):
        raise NotCompilable(f"training: {manifest['problem']}")
    made_at = "training" if served.compiled is not None else "load"
    model = served.compiled or compiling.compile_model(served.pipeline)
    scorer = CompiledScorer(served.pipeline, model)
    rows = probe_rows(scorer.features)
    frame = served.check_rows
    has_frame = frame is not None and len(frame) > 0
    checked = len(rows.as_of_days) + (len(frame) if frame is not None else 0)
    if has_frame:
        assert frame is not None
        ids = [str(i) for i in frame["opportunity_id"]]
        expected = served.pipeline.predict_proba(frame)[:, 1]

    def difference_of(candidate: CompiledModel) -> float:
        scorer.model = candidate
        difference = max_difference(scorer, served.pipeline, rows)
        if has_frame:
            assert frame is not None
            got = scorer.predict(raw_rows(frame), ids)
            difference = max(difference, float(np.max(np.abs(got - expected))))
        return difference

    model, difference, problem = checked_native(model, difference_of)
    scorer.model = model
    if not difference <= compiling.TOLERANCE:
        raise _Differs(f"compiled {model.runtime} model differs by {difference:.3g} from the "
                       f"pipeline (tolerance {compiling.TOLERANCE:g})")  # fmt: skip
    scorer.compiled = {"used": True, "runtime": model.engine, "made_at": made_at,
                       "checked_rows": checked, "max_difference": difference}  # fmt: skip
    if problem:
        scorer.compiled["problem"] = problem
    return scorer


class CompiledScorer(PipelineScorer):
    """Fast features and encoder, then the compiled model (see the module docstring)."""

    kind = "compiled"

    def __init__(self, pipeline: Pipeline, model: CompiledModel) -> None:
        super().__init__(pipeline)
        self.model = model
        self._encoder: CompiledEncoder | None = None
        if model.input == "encoded":
            inner, _calibrators = compiling.parts(pipeline.named_steps["model"])
            if inner is None:
                raise NoFastPath("a baseline has no encoder")
            try:
                self._encoder = compile_encoder(inner.steps[0][1], CATEGORICAL, NUMERIC)
            except NotSeparable as exc:
                raise NoFastPath(str(exc)) from exc

    @override
    def predict(self, rows: RawRows, opportunity_ids: Sequence[str]) -> np.ndarray:
        categorical, numeric = self.features.transform(rows)
        if self._encoder is None:
            return self.model.predict(numeric)
        return self.model.predict(self._encoder.transform(categorical, numeric))


def raw_rows(frame: pd.DataFrame) -> RawRows:
    """Rows of ``INPUT_COLUMNS`` (a DataFrame) as :class:`RawRows`."""

    def days(column: str) -> np.ndarray:
        values = pd.to_datetime(frame[column]).to_numpy(dtype="datetime64[D]")
        return np.where(np.isnat(values), np.nan, values.astype("int64").astype(float))

    return RawRows(
        sales_agent=list(frame["sales_agent"]),
        product=list(frame["product"]),
        account=[a if isinstance(a, str) else None for a in frame["account"]],
        engage_days=days("engage_date"),
        as_of_days=days("as_of_date").astype(np.int64),
    )
