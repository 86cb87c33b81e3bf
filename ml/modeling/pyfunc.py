"""The registered model as every MLflow consumer sees it: P(Won) per row.

``mlflow.pyfunc.load_model("models:/crm-win-probability@champion").predict(df)``,
``mlflow models serve`` and ``mlflow.pyfunc.spark_udf`` all call
:meth:`WinProbability.predict`, which answers what the prediction service
answers for the same rows: one float64 win probability per row, in order.

Its input is a DataFrame of ``ml.features.INPUT_COLUMNS``. As in the service,
``account`` and ``engage_date`` may be missing or null (open deals often lack
an account, Prospecting deals have no engage date) and ``as_of_date``
defaults to today (UTC); the signature marks these three optional. Rows the
service refuses are refused here too (an MlflowException naming the row and
field, which ``mlflow models serve`` answers with 400): a sales agent or
product the model was not trained with, an engage date after the as-of date.
The fitted scikit-learn pipeline stays available to our own code through
:func:`load_pipeline`, and with its compiled model (``ml.modeling.compiled``,
logged as the model's ``compiled`` artifact) through :func:`load_served`.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, Schema
from sklearn.pipeline import Pipeline

import ml
from ml.features import INPUT_COLUMNS
from ml.features.transformer import PRODUCT_FIXES
from ml.modeling import compiled
from ml.modeling.compiled import Served

OPTIONAL_COLUMNS = ("account", "engage_date", "as_of_date")
_TYPES = {"engage_date": "datetime", "as_of_date": "datetime"}
_SHOWN = 5  # problems named in one error message


def signature() -> ModelSignature:
    """Input: ``INPUT_COLUMNS`` (strings and dates; the optional ones not required);
    output: one double per row."""
    inputs = Schema(
        [ColSpec(_TYPES.get(c, "string"), c, required=c not in OPTIONAL_COLUMNS)
         for c in INPUT_COLUMNS]
    )  # fmt: skip
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec("double")]))


def known_values(pipeline: Pipeline) -> tuple[frozenset[str], frozenset[str]]:
    """(sales agents, products) the fitted pipeline knows; products include the
    spellings of the original files that name a known product (``GTXPro``)."""
    features = pipeline.named_steps["features"]
    products = set(features.products_.index)
    spellings = {q for q, canonical in PRODUCT_FIXES.items() if canonical in products}
    return frozenset(features.agents_.index), frozenset(products | spellings)


def prepared(frame: pd.DataFrame, pipeline: Pipeline, today: pd.Timestamp) -> pd.DataFrame:
    """``frame`` with the optional columns filled as the service fills them, checked as
    the service checks them; raises MlflowException(INVALID_PARAMETER_VALUE)."""
    missing = [c for c in INPUT_COLUMNS if c not in frame.columns and c not in OPTIONAL_COLUMNS]
    if missing:
        _refuse([f"missing column {c}" for c in missing])
    rows = frame.reset_index(drop=True).copy()
    if "account" not in rows:
        rows["account"] = None
    rows["account"] = rows["account"].astype(object).where(rows["account"].notna(), None)
    for column in ("engage_date", "as_of_date"):
        values = rows[column] if column in rows else pd.Series(pd.NaT, index=rows.index)
        rows[column] = pd.to_datetime(values, errors="coerce").dt.tz_localize(None)
    rows["as_of_date"] = rows["as_of_date"].fillna(today)
    _check(rows, *known_values(pipeline))
    return rows[list(INPUT_COLUMNS)]


def _check(rows: pd.DataFrame, agents: frozenset[str], products: frozenset[str]) -> None:
    problems = []
    for i, agent in rows["sales_agent"].items():
        if agent not in agents:
            problems.append(f"row {i}: sales_agent: unknown sales_agent {agent!r}: "
                            f"the model knows {len(agents)} agents")  # fmt: skip
    for i, product in rows["product"].items():
        if product not in products:
            problems.append(f"row {i}: product: unknown product {product!r}; "
                            f"known: {', '.join(sorted(products))}")  # fmt: skip
    late = rows["engage_date"].notna() & (rows["engage_date"] > rows["as_of_date"])
    problems += [f"row {i}: engage_date: after as_of_date" for i in rows.index[late]]
    if problems:
        _refuse(problems)


def _refuse(problems: list[str]) -> None:
    more = f" (and {len(problems) - _SHOWN} more)" if len(problems) > _SHOWN else ""
    raise MlflowException("; ".join(problems[:_SHOWN]) + more, INVALID_PARAMETER_VALUE)


class WinProbability(PythonModel):
    """The fitted pipeline (``pipeline``) behind MLflow's generic interface."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def load_context(self, context: Any) -> None:
        """Note where the compiled model's folder was downloaded (None without one)."""
        self.compiled_dir = (context.artifacts or {}).get("compiled")

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> np.ndarray:
        """P(Won) per row of ``model_input`` (see the module docstring)."""
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        today = pd.Timestamp(datetime.now(UTC).date())
        rows = prepared(frame, self.pipeline, today)
        return np.asarray(self.pipeline.predict_proba(rows)[:, 1], dtype=np.float64)


def log_model(
    pipeline: Pipeline,
    example: pd.DataFrame,
    requirements: list[str],
    compiled_dir: Path | None = None,
) -> str:
    """Log ``pipeline`` as a pyfunc model named ``model`` in the active run, with the
    folder ``compiled_dir`` (``ml.modeling.compiled.build_artifact``) as its
    ``compiled`` artifact; returns its URI."""
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=WinProbability(pipeline),
        artifacts={"compiled": str(compiled_dir)} if compiled_dir else None,
        signature=signature(),
        input_example=example,
        # the classes load from the installed ml package, or from this copy
        code_paths=[str(Path(ml.__file__).parent)],
        pip_requirements=requirements,
    )
    return info.model_uri


def load_pipeline(model_uri: str) -> Pipeline:
    """The fitted scikit-learn pipeline of ``model_uri`` (``models:/name/3``,
    ``runs:/...``), logged by :func:`log_model` or, for versions registered before
    it, with the sklearn flavour. Raises MlflowException when it cannot be loaded."""
    flavors = mlflow.models.get_model_info(model_uri).flavors
    if "sklearn" in flavors:
        return mlflow.sklearn.load_model(model_uri)
    return mlflow.pyfunc.load_model(model_uri).unwrap_python_model().pipeline


def load_served(model_uri: str) -> Served:
    """The pipeline of ``model_uri`` with its compiled model, read from the
    ``compiled`` artifact (a version logged before compiled models has none).
    Raises MlflowException when the pipeline cannot be loaded; a damaged
    compiled folder is reported in ``manifest['problem']``."""
    if "sklearn" in mlflow.models.get_model_info(model_uri).flavors:
        return Served(mlflow.sklearn.load_model(model_uri))
    with tempfile.TemporaryDirectory(prefix="model-") as folder:
        model = mlflow.pyfunc.load_model(model_uri, dst_path=folder).unwrap_python_model()
        where = getattr(model, "compiled_dir", None)
        if where is None:
            return Served(model.pipeline)
        try:
            found, manifest = compiled.load(Path(where))
            rows = compiled.check_rows(Path(where))
        except (OSError, ValueError, KeyError) as exc:
            problem = f"the compiled artifact cannot be read: {exc}"
            return Served(model.pipeline, None, {"problem": problem})
    return Served(model.pipeline, found, manifest, rows)
