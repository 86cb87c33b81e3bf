"""Log a training run to MLflow: parameters, metrics, plots, feature list, data hashes,
the data's lineage (tags and dataset inputs), and the fitted pipeline as a pyfunc
model (``ml.modeling.pyfunc``) with its signature and an input example.

A baseline served as champion (``ml.modeling.baseline``) is logged the same way,
in a run of its own whose ``eval_*`` metrics are the baseline's."""

from __future__ import annotations

import dataclasses
import tempfile
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from sklearn.pipeline import Pipeline

from ml.modeling import compiled, plots, pyfunc
from ml.modeling.baseline import DESCRIPTIONS, baseline_pipeline
from ml.modeling.evaluate import METRICS, calibration_points
from ml.modeling.importance import field_importance
from ml.modeling.lineage import lineage_tags
from ml.modeling.train import TrainingResult
from ml.settings import PipelineSettings


def _flat(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(f"{name}.", value))
        else:
            out[name] = value if not isinstance(value, tuple) else ",".join(map(str, value))
    return out


def _finite(values: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if v is not None and np.isfinite(v)}


def metric_table(result: TrainingResult) -> dict[str, float]:
    """Every number of the run: the chosen model as ``eval_*``, each family and baseline."""
    table = {f"eval_{m}": result.eval_metrics[m] for m in METRICS}
    for family, fr in result.families.items():
        table.update({f"{family}_eval_{m}": fr.eval_metrics[m] for m in METRICS})
        table[f"{family}_val_log_loss"] = fr.search.val_log_loss
    for name, values in result.baselines.items():
        table.update({f"baseline_{name}_{m}": values[m] for m in METRICS})
    table.update({f"rows_{k}": float(v) for k, v in result.info["rows"].items()})
    return _finite(table)


def log_training(
    result: TrainingResult,
    *,
    run_name: str,
    settings: PipelineSettings,
    data: dict[str, Any],
    lineage: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> tuple[str, str]:
    """Log ``result`` in the active experiment; returns (run id, model URI).

    ``data`` describes the data used: its version and manifest of content hashes;
    ``lineage`` is the ``data`` object of ``ml.modeling.lineage`` (tags and dataset
    inputs); ``tags`` are set on the run as given (e.g. the pipeline run's id).
    """
    mlflow.set_experiment(settings.registry.experiment)
    with mlflow.start_run(run_name=run_name) as run:
        params = _flat("", dataclasses.asdict(settings.training))
        params.update({"chosen_family": result.family, "data_version": data.get("version")})
        for family, fr in result.families.items():
            params.update(_flat(f"{family}.", fr.search.params))
        mlflow.log_params(params)
        _tag(run_name, data, lineage, {"kind": "learned", "family": result.family, **(tags or {})})
        mlflow.log_metrics(metric_table(result))
        mlflow.log_dict({"features": result.feature_names}, "features.json")
        importance = field_importance(result.pipeline, result.eval_inputs, result.eval_labels)
        if importance:
            mlflow.log_dict(importance, "feature_importance.json")
        _log_data(result, data, lineage)
        _log_plots(result)
        return run.info.run_id, _log_model(result.pipeline, result)


def log_baseline(
    result: TrainingResult,
    name: str,
    *,
    run_name: str,
    settings: PipelineSettings,
    data: dict[str, Any],
    lineage: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> tuple[str, str]:
    """Log baseline ``name`` of ``result`` as a servable model in a run of its own;
    returns (run id, model URI). Its ``eval_*`` metrics are the baseline's, beside
    the same ``baseline_*`` and per-family metrics as the training run."""
    mlflow.set_experiment(settings.registry.experiment)
    with mlflow.start_run(run_name=run_name) as run:
        params = _flat("", dataclasses.asdict(settings.training))  # the same splits
        params.update({"baseline": name, "data_version": data.get("version")})
        mlflow.log_params(params)
        _tag(run_name, data, lineage, {"kind": "baseline", "family": name,
                                       "baseline.description": DESCRIPTIONS[name], **(tags or {})})  # fmt: skip
        table = metric_table(result)
        table.update({f"eval_{m}": result.baselines[name][m] for m in METRICS})
        mlflow.log_metrics(_finite(table))
        mlflow.log_dict({"features": [f"baseline: {DESCRIPTIONS[name]}"]}, "features.json")
        _log_data(result, data, lineage)
        _log_plots(result, chosen=(f"baseline: {name}", result.baseline_predictions[name]))
        return run.info.run_id, _log_model(baseline_pipeline(result, name), result)


def _tag(
    run_name: str, data: dict[str, Any], lineage: dict[str, Any] | None, tags: dict[str, str]
) -> None:
    mlflow.set_tags({"data_version": str(data.get("version")), "month": run_name, **tags})
    if lineage:
        mlflow.set_tags(lineage_tags(lineage))


def _log_data(result: TrainingResult, data: dict[str, Any], lineage: dict[str, Any] | None) -> None:
    """The data's manifest and splits as artifacts, each split as a dataset input."""
    mlflow.log_dict(data, "data/manifest.json")
    mlflow.log_dict(result.info, "data/splits.json")
    source = data.get("url") or f"raw data {data.get('version')}"
    kind = (lineage or {}).get("source", "unknown")
    for part, context in (("train", "training"), ("val", "validation"), ("eval", "evaluation")):
        rows = getattr(result.splits, part)
        with warnings.catch_warnings():
            # file:// resolves to one source class registered twice; ``won`` is 0/1 on
            # every row: both hints are about cases that cannot arise here
            warnings.filterwarnings("ignore", "The specified dataset source", UserWarning)
            warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer", UserWarning)
            dataset = from_pandas(
                _dataset_frame(rows), source=source, targets="won",
                name=f"crm-{data.get('version')}-{data.get('month')}-{part}",
            )  # fmt: skip
            months = ",".join(result.splits.months[part])
            mlflow.log_input(dataset, context=context, tags={"months": months, "source": kind})


def _dataset_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Split rows with dates as strings: MLflow's dataset profile reads plain columns."""
    frame = rows.copy()
    for column in ("engage_date", "as_of_date"):
        frame[column] = frame[column].dt.strftime("%Y-%m-%d")
    return frame


def _log_model(pipeline: Pipeline, result: TrainingResult) -> str:
    """Log ``pipeline`` with its compiled model (checked on the evaluation rows); the
    compiled model's manifest is also the run's ``compiled.json`` and ``compiled.*`` tags."""
    example = result.eval_inputs.head(5)
    with tempfile.TemporaryDirectory(prefix="compiled-") as tmp:
        folder = Path(tmp) / "compiled"
        manifest = compiled.build_artifact(pipeline, result.eval_inputs, folder)
        mlflow.log_dict(manifest, "compiled.json")
        mlflow.set_tag("compiled.runtime", manifest.get("runtime", "none"))
        if manifest.get("problem"):
            mlflow.set_tag("compiled.problem", manifest["problem"][:5000])
        return pyfunc.log_model(pipeline, example, requirements(), compiled_dir=folder)


def requirements() -> list[str]:
    """The packages the logged pipeline needs, pinned to the versions that trained it
    (stated, not inferred: inference imports the model in a subprocess and is slow)."""
    names = ("scikit-learn", "pandas", "numpy", "scipy", "cloudpickle", "pyarrow")
    return [f"{name}=={version(name)}" for name in names]


def _log_plots(result: TrainingResult, chosen: tuple[str, np.ndarray] | None = None) -> None:
    """Calibration and ROC of the model (``chosen``: another name and predictions, for a
    baseline served as the model) beside the baselines."""
    model = result.families[result.family].eval_predictions
    name, p = chosen or (f"model ({result.family})", model)
    # a baseline served as the model keeps its own name: one curve, not two
    predictions = {name: p, **{f"baseline: {k}": v for k, v in result.baseline_predictions.items()}}
    y = result.eval_labels
    for name, build in (("calibration", plots.calibration_figure), ("roc", plots.roc_figure)):
        fig = build(y, predictions)
        mlflow.log_figure(fig, f"plots/{name}.png")
        plots.close(fig)
    curves = {name: calibration_points(y, p) for name, p in predictions.items()}
    mlflow.log_dict(curves, "plots/calibration_curve.json")
