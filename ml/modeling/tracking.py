"""Log a training run to MLflow: parameters, metrics, plots, feature list, data hashes,
and the fitted pipeline with its signature and an input example."""

from __future__ import annotations

import dataclasses
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.models import infer_signature

import ml
from ml.modeling import plots
from ml.modeling.evaluate import METRICS, calibration_points
from ml.modeling.importance import field_importance
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
) -> tuple[str, str]:
    """Log ``result`` in the active experiment; returns (run id, model URI).

    ``data`` describes the data used: its version and manifest of content hashes.
    """
    mlflow.set_experiment(settings.registry.experiment)
    with mlflow.start_run(run_name=run_name) as run:
        params = _flat("", dataclasses.asdict(settings.training))
        params.update({"chosen_family": result.family, "data_version": data.get("version")})
        for family, fr in result.families.items():
            params.update(_flat(f"{family}.", fr.search.params))
        mlflow.log_params(params)
        mlflow.set_tags({"data_version": str(data.get("version")), "month": run_name})
        mlflow.log_metrics(metric_table(result))
        mlflow.log_dict({"features": result.feature_names}, "features.json")
        importance = field_importance(result.pipeline, result.eval_inputs, result.eval_labels)
        if importance:
            mlflow.log_dict(importance, "feature_importance.json")
        mlflow.log_dict(data, "data/manifest.json")
        mlflow.log_dict(result.info, "data/splits.json")
        _log_plots(result)
        example = result.eval_inputs.head(5)
        signature = infer_signature(example, result.pipeline.predict_proba(example)[:, 1])
        info = mlflow.sklearn.log_model(
            result.pipeline,
            name="model",
            signature=signature,
            input_example=example,
            # skops refuses custom transformers; the classes load from the installed ml package
            serialization_format="cloudpickle",
            code_paths=[str(Path(ml.__file__).parent)],
            pip_requirements=requirements(),
        )
        return run.info.run_id, info.model_uri


def requirements() -> list[str]:
    """The packages the logged pipeline needs, pinned to the versions that trained it
    (stated, not inferred: inference imports the model in a subprocess and is slow)."""
    names = ("scikit-learn", "pandas", "numpy", "scipy", "cloudpickle", "pyarrow")
    return [f"{name}=={version(name)}" for name in names]


def _log_plots(result: TrainingResult) -> None:
    predictions = {
        f"model ({result.family})": result.families[result.family].eval_predictions,
        **{f"baseline: {k}": v for k, v in result.baseline_predictions.items()},
    }
    y = result.eval_labels
    for name, build in (("calibration", plots.calibration_figure), ("roc", plots.roc_figure)):
        fig = build(y, predictions)
        mlflow.log_figure(fig, f"plots/{name}.png")
        plots.close(fig)
    curves = {name: calibration_points(y, p) for name, p in predictions.items()}
    mlflow.log_dict(curves, "plots/calibration_curve.json")
