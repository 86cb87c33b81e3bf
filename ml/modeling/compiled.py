"""Compiled scoring: the fitted model of a pipeline (``features -> model``) as a
runtime model plus arrays, produced at training time, saved beside the MLflow
model and checked equal to the scikit-learn pipeline before it is used.

What is compiled is the part after the encoder: the classifier and its
calibrators. Its input is the classifier's own input (the encoded feature
rows), or for a baseline served as the model the numeric features. The
runtime per family was chosen by measurement (``benchmarks/compiled_runtimes.py``,
``benchmarks/RESULTS.md``):

- gradient boosting (``HistGradientBoostingClassifier``, native categorical
  splits): Treelite, its general tree inference library (GTIL) on the ensemble
  imported with float64 thresholds; equal to scikit-learn's decision function
  to about 1e-15, about 20 microseconds a row (ONNX Runtime through skl2onnx
  loses the categorical splits in float32 and has no float64 tree classifier).
  scikit-learn sends a category it did not see in training (or a negative
  one: the encoder's unknown value) the way of a missing value; such values
  are made NaN first, through a table of the known categories;
- logistic regression: the decision function as a numpy dot product (exact,
  about 1 microsecond a row; ONNX Runtime is exact in float64 and takes 6);
- the calibrators: Platt's sigmoid ``expit(-(a s + b))`` and isotonic
  regression as ``np.interp`` on its thresholds, clipped to them, which is
  what scikit-learn computes;
- a baseline: its rate is one of the features, read from them.

Where a tree ensemble is loaded, ``ml.modeling.native.checked_native`` builds its
Treelite model as native code (TL2cgen's C, the machine's compiler) and scores
through it (``engine`` ``tl2cgen``), single rows and batches alike, once it equals
the pipeline; otherwise (no TL2cgen, no compiler, a failed build or check) the
ensemble scores with GTIL and the status's ``problem`` says why.

:func:`build_artifact` compiles, checks on the evaluation rows and writes a
folder; :func:`load` reads one. Batch scoring through a compiled model is
:mod:`ml.modeling.batch`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ml.features.transformer import NUMERIC
from ml.modeling.baseline import RateBaseline
from ml.modeling.calibration import Calibrator

FORMAT = 1
TOLERANCE = 1e-6
"""The largest absolute difference in P(Won) from the pipeline a compiled model may have."""
CHECK_ROWS = 2000
"""Evaluation rows kept with the compiled model, to check it again where it is loaded."""
CHUNK_ROWS = 100_000
"""Rows whose features are computed at once in a batch."""
BATCH_THREADS_FROM = 10_000
"""From this many rows on, a tree ensemble is evaluated on every core."""
MANIFEST, ARRAYS, TREES, CHECK = "manifest.json", "arrays.npz", "trees.tl", "check.parquet"


class NotCompilable(ValueError):
    """The model is not one this module can compile (its message says why)."""


@dataclass
class CompiledModel:
    """P(Won) from the classifier's input rows (see the module docstring).

    ``runtime``: ``treelite``, ``numpy`` (a linear model) or ``rate`` (a
    baseline: ``column`` of the numeric features). ``calibrators`` are averaged
    as scikit-learn averages its calibrated members.
    """

    runtime: str
    family: str
    trees: Any = None  # treelite.Model
    coef: np.ndarray | None = None
    intercept: float = 0.0
    column: int = -1
    calibrators: list[Calibrator] = field(default_factory=list)
    categorical: np.ndarray | None = None  # column indices of native categorical splits
    known: np.ndarray | None = None  # (len(categorical), width): category seen in training
    # the fitted classifier, when at hand (batch scoring; never saved): for a batch
    # without native code, scikit-learn's vectorised predictor computes the same
    # decision function about twice as fast as GTIL, which is the faster for a
    # request's few rows (native code, when set, is faster than both)
    bulk: Any = field(default=None, repr=False, compare=False)
    # the ensemble as native code (ml.modeling.native.NativeTrees; never saved): used
    # for every call when set
    native: Any = field(default=None, repr=False, compare=False)

    def _unknown_as_missing(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` with unseen or negative categories as NaN (what scikit-learn does)."""
        if self.categorical is None or self.known is None or not len(self.categorical):
            return rows
        if len(rows) == 1:
            return self._unknown_as_missing_one(rows)
        values = rows[:, self.categorical]
        width = self.known.shape[1]
        codes = np.nan_to_num(values, nan=-1.0).astype(np.int64)
        inside = (codes >= 0) & (codes < width)
        flat = np.arange(len(self.categorical)) * width + np.clip(codes, 0, width - 1)
        seen = inside & (values == codes) & self.known.ravel()[flat]
        rows = rows.copy()
        rows[:, self.categorical] = np.where(seen, values, np.nan)
        return rows

    def _unknown_as_missing_one(self, rows: np.ndarray) -> np.ndarray:
        """:meth:`_unknown_as_missing` of one row, in plain Python: a dozen numpy
        calls on one row cost more than the trees themselves."""
        assert self.categorical is not None
        assert self.known is not None
        row = rows[0].tolist()
        width = self.known.shape[1]
        for j, column in enumerate(self.categorical.tolist()):
            value = row[column]
            code = int(value) if value == value and 0 <= value < width else -1
            if code < 0 or code != value or not self.known[j, code]:
                row[column] = math.nan
        return np.array([row])

    @property
    def input(self) -> str:
        """``numeric_features`` for a baseline, else ``encoded`` (the classifier's input)."""
        return "numeric_features" if self.runtime == "rate" else "encoded"

    @property
    def engine(self) -> str:
        """What computes the decision function: ``tl2cgen`` (native code), else ``runtime``."""
        return "tl2cgen" if self.native is not None else self.runtime

    def decision(self, rows: np.ndarray) -> np.ndarray:
        """The classifier's decision function (its raw score) per row."""
        if self.runtime == "treelite":
            import treelite

            if self.native is not None:
                cores = len(os.sched_getaffinity(0)) if len(rows) >= BATCH_THREADS_FROM else 1
                margins = self.native.margins(self._unknown_as_missing(rows), threads=cores)
                return np.asarray(margins, dtype=np.float64)
            if len(rows) >= BATCH_THREADS_FROM:
                return self._batch_decision(rows)
            # one thread for a request: threads would compete with the event loop
            margin = treelite.gtil.predict(
                self.trees, self._unknown_as_missing(rows), nthread=1, pred_margin=True
            )
            return np.asarray(margin, dtype=np.float64).reshape(len(rows))
        assert self.coef is not None
        return rows @ self.coef + self.intercept

    def _batch_decision(self, rows: np.ndarray) -> np.ndarray:
        """A tree ensemble's decision function for a batch, on every core the process
        may use (OpenMP raised for the call past ``OMP_NUM_THREADS``, which holds the
        service's requests to one thread), without native code: through ``bulk`` when
        set, else GTIL."""
        import treelite
        from threadpoolctl import threadpool_limits

        cores = len(os.sched_getaffinity(0))
        with threadpool_limits(cores, user_api="openmp"):
            if self.bulk is not None:
                margin = self.bulk.decision_function(rows)
            else:
                margin = treelite.gtil.predict(
                    self.trees, self._unknown_as_missing(rows), nthread=cores, pred_margin=True
                )
        return np.asarray(margin, dtype=np.float64).reshape(len(rows))

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """P(Won) per row of ``rows`` (float64, ``len(rows)``)."""
        if self.runtime == "rate":
            return np.clip(rows[:, self.column], 0.0, 1.0)
        scores = self.decision(np.ascontiguousarray(rows, dtype=np.float64))
        if not self.calibrators:
            return expit(scores)
        if len(scores) == 1:
            return np.array([self._calibrated_one(float(scores[0]))])
        total = np.zeros(len(scores))
        for calibrator in self.calibrators:
            p = calibrator(scores)
            total += np.where((p > 1.0) & (p <= 1.0 + 1e-5), 1.0, p)
        return total / len(self.calibrators)

    def _calibrated_one(self, score: float) -> float:
        """The calibrators' average for one score, as :meth:`predict` computes it."""
        total = 0.0
        for calibrator in self.calibrators:
            p = calibrator.one(score)
            total += 1.0 if 1.0 < p <= 1.0 + 1e-5 else p
        return total / len(self.calibrators)


@dataclass(frozen=True)
class Served:
    """A version as a scorer takes it: the pipeline, and its compiled model (None when
    the version has none, or training could not compile it: ``manifest`` says why)
    with the evaluation rows saved to check it."""

    pipeline: Pipeline
    compiled: CompiledModel | None = None
    manifest: dict[str, Any] | None = None
    check_rows: pd.DataFrame | None = None


def _inner(estimator: BaseEstimator) -> Pipeline:
    if isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    if not isinstance(estimator, Pipeline) or len(estimator.steps) != 2:
        raise NotCompilable(f"expected an encode -> classifier pipeline, got {estimator!r}")
    return estimator


def parts(model: BaseEstimator) -> tuple[Pipeline | None, list[Any]]:
    """(the ``encode -> classifier`` pipeline, its fitted calibrators) of a pipeline's
    ``model`` step; (None, []) for a baseline. Raises NotCompilable."""
    if isinstance(model, RateBaseline):
        return None, []
    if not isinstance(model, CalibratedClassifierCV):
        return _inner(model), []
    if len(model.classes_) != 2 or model.method not in ("sigmoid", "isotonic"):
        raise NotCompilable(f"calibration {model.method} of {len(model.classes_)} classes")
    members = model.calibrated_classifiers_
    inner = _inner(members[0].estimator)
    if any(_inner(m.estimator) is not inner for m in members):
        raise NotCompilable("calibrated members do not share one fitted pipeline")
    return inner, [m.calibrators[0] for m in members]


def _calibrator(fitted: Any) -> Calibrator:
    if hasattr(fitted, "a_") and hasattr(fitted, "b_"):
        return Calibrator("sigmoid", float(fitted.a_), float(fitted.b_))
    if hasattr(fitted, "X_thresholds_") and getattr(fitted, "out_of_bounds", "") == "clip":
        x = np.asarray(fitted.X_thresholds_, dtype=np.float64)
        return Calibrator("isotonic", x=x, y=np.asarray(fitted.y_thresholds_, dtype=np.float64))
    raise NotCompilable(f"unknown calibrator {fitted!r}")


def compile_model(pipeline: Pipeline) -> CompiledModel:
    """The compiled form of ``pipeline``'s ``model`` step. Raises NotCompilable."""
    model = pipeline.named_steps["model"]
    if isinstance(model, RateBaseline):
        if model.column not in NUMERIC:
            raise NotCompilable(f"baseline column {model.column!r} is not a numeric feature")
        return CompiledModel("rate", "baseline", column=NUMERIC.index(model.column))
    inner, fitted = parts(model)
    assert inner is not None
    classifier = inner.steps[1][1]
    calibrators = [_calibrator(c) for c in fitted]
    if isinstance(classifier, HistGradientBoostingClassifier):
        import treelite

        if len(classifier.classes_) != 2:
            raise NotCompilable("gradient boosting with more than two classes")
        trees = treelite.sklearn.import_model(classifier)
        categorical, known = _known_categories(classifier)
        return CompiledModel("treelite", "boosting", trees=trees, calibrators=calibrators,
                             categorical=categorical, known=known)  # fmt: skip
    if isinstance(classifier, LogisticRegression) and classifier.coef_.shape[0] == 1:
        coef = np.asarray(classifier.coef_[0], dtype=np.float64)
        return CompiledModel("numpy", "logistic", coef=coef,
                             intercept=float(classifier.intercept_[0]), calibrators=calibrators)  # fmt: skip
    raise NotCompilable(f"no compiled form for {type(classifier).__name__}")


def _known_categories(classifier: HistGradientBoostingClassifier) -> tuple[np.ndarray, np.ndarray]:
    """(categorical column indices, a table: row per column, True at each category the
    ensemble saw in training)."""
    mapper = classifier._bin_mapper
    columns = np.flatnonzero(mapper.is_categorical_)
    seen = [np.asarray(mapper.bin_thresholds_[c], dtype=np.int64) for c in columns]
    width = max((int(s.max()) + 1 for s in seen if len(s)), default=1)
    known = np.zeros((len(columns), width), dtype=bool)
    for i, categories in enumerate(seen):
        known[i, categories] = True
    return columns.astype(np.intp), known


# -- the artifact -----------------------------------------------------------------------


def save(compiled: CompiledModel, folder: Path, manifest: dict[str, Any]) -> None:
    """Write ``compiled`` and ``manifest`` into ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    if compiled.coef is not None:
        arrays["coef"] = compiled.coef
    if compiled.categorical is not None and compiled.known is not None:
        arrays["categorical"], arrays["known"] = compiled.categorical, compiled.known
    for i, c in enumerate(compiled.calibrators):
        arrays[f"calibrator_{i}"] = np.concatenate([[c.a, c.b], c.x, c.y])
    np.savez(folder / ARRAYS, **arrays)  # type: ignore[arg-type]  # numpy types the **arrays as its flags
    if compiled.trees is not None:
        (folder / TREES).write_bytes(compiled.trees.serialize_bytes())
    described = {
        "format": FORMAT,
        "runtime": compiled.runtime,
        "family": compiled.family,
        "intercept": compiled.intercept,
        "column": compiled.column,
        "calibrators": [c.method for c in compiled.calibrators],
        **manifest,
    }
    (folder / MANIFEST).write_text(json.dumps(described, indent=2))


def load(folder: Path) -> tuple[CompiledModel | None, dict[str, Any]]:
    """(the compiled model in ``folder`` or None when training could not compile it,
    its manifest). Raises (OSError, ValueError, KeyError) on a damaged folder."""
    manifest = json.loads((folder / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"compiled model format {manifest.get('format')!r}, expected {FORMAT}")
    if manifest.get("problem"):
        return None, manifest
    with np.load(folder / ARRAYS) as arrays:
        calibrators = []
        for i, method in enumerate(manifest["calibrators"]):
            values = arrays[f"calibrator_{i}"]
            half = (len(values) - 2) // 2
            calibrators.append(Calibrator(method, float(values[0]), float(values[1]),
                                          values[2 : 2 + half], values[2 + half :]))  # fmt: skip
        coef = arrays.get("coef", None)
        categorical = arrays.get("categorical", None)
        known = arrays.get("known", None)
    trees = None
    if manifest["runtime"] == "treelite":
        import treelite

        trees = treelite.Model.deserialize_bytes((folder / TREES).read_bytes())
    compiled = CompiledModel(manifest["runtime"], manifest["family"], trees=trees, coef=coef,
                             intercept=float(manifest["intercept"]), column=int(manifest["column"]),
                             calibrators=calibrators, categorical=categorical, known=known)  # fmt: skip
    return compiled, manifest


def check_rows(folder: Path) -> pd.DataFrame | None:
    """The evaluation rows saved with the compiled model (None when absent)."""
    path = folder / CHECK
    return pd.read_parquet(path) if path.exists() else None


def runtime_versions() -> dict[str, str]:
    """The versions of the libraries a compiled model depends on, by distribution name (``scikit-
    learn``, ``numpy``, ``treelite``)."""
    names = ("scikit-learn", "numpy", "treelite")
    return {name: version(name) for name in names}


def build_artifact(pipeline: Pipeline, eval_inputs: pd.DataFrame, folder: Path) -> dict[str, Any]:
    """Compile ``pipeline``'s model, check it against the pipeline on ``eval_inputs`` and
    write it with the first :data:`CHECK_ROWS` of them into ``folder``; returns the
    manifest. When it cannot be compiled or differs by more than :data:`TOLERANCE`,
    the manifest's ``problem`` says why and no compiled model is written."""
    from ml.modeling.batch import max_difference

    rows = eval_inputs.head(CHECK_ROWS).reset_index(drop=True)
    try:
        compiled = compile_model(pipeline)
        difference = max_difference(pipeline, compiled, eval_inputs) if len(eval_inputs) else 0.0
    except Exception as exc:  # any failure to compile leaves the pipeline path, said plainly
        return _write_problem(folder, f"not compiled: {type(exc).__name__}: {exc}")
    if not difference <= TOLERANCE:
        return _write_problem(
            folder, f"compiled {compiled.runtime} model differs by {difference:.3g} "
            f"from the pipeline on the evaluation rows (tolerance {TOLERANCE:g})",
        )  # fmt: skip
    manifest = {"check": {"rows": len(eval_inputs), "max_difference": difference,
                          "tolerance": TOLERANCE}, "versions": runtime_versions()}  # fmt: skip
    save(compiled, folder, manifest)
    rows.to_parquet(folder / CHECK)
    return json.loads((folder / MANIFEST).read_text())


def _write_problem(folder: Path, problem: str) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"format": FORMAT, "problem": problem}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest
