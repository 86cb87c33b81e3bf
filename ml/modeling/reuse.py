"""Reuse of a model version already trained on the same data, code and settings.

Before training, a run looks in the registry for a learned version whose
``training.fingerprint`` tag (``ml.modeling.fingerprint``) equals its own. When
one exists, nothing is trained or registered and the gate does not run again:
the version keeps its aliases, whatever they are (champion, challenger or
none), and so does every other version. The run records what it reused in an
MLflow run of its own (``kind`` = ``reused``, ``model_version``,
``reused.run_id``: the training run of the reused version), so a pipeline
run's report can say so.

To train, register and gate anyway (e.g. after changing the promotion margins,
which are not part of the fingerprint), a run is forced.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ml.modeling.fingerprint import FINGERPRINT_TAG
from ml.modeling.lineage import lineage_from_tags, lineage_tags
from ml.settings import PipelineSettings

REUSED = "same data, code and settings"


def find_trained(client: MlflowClient, name: str, fingerprint: str) -> ModelVersion | None:
    """The latest learned version of model ``name`` whose fingerprint is ``fingerprint``."""
    query = f"name = '{name}' and tags.`{FINGERPRINT_TAG}` = '{fingerprint}'"
    try:
        found = client.search_model_versions(query)
    except MlflowException:  # no such registered model yet
        return None
    learned = [v for v in found if (v.tags or {}).get("kind", "learned") == "learned"]
    return max(learned, key=lambda v: int(v.version), default=None)


def _champion(client: MlflowClient, settings: PipelineSettings) -> str | None:
    try:
        reg = settings.registry
        return str(client.get_model_version_by_alias(reg.model_name, reg.champion_alias).version)
    except MlflowException:
        return None


def reuse_message(version: str, aliases: list[str], champion: str | None) -> str:
    """``reused v3 (same data, code and settings): ...``: what a reuse did and did not do."""
    kept = ", ".join(sorted(aliases)) or "none"
    serving = f"champion v{champion}" if champion else "no champion"
    return (
        f"reused v{version} ({REUSED}): nothing trained or registered; the gate did not "
        f"run again, so v{version} keeps its aliases ({kept}); {serving}"
    )


def _metrics(client: MlflowClient, run_id: str | None) -> dict[str, float]:
    if not run_id:
        return {}
    try:
        return dict(client.get_run(run_id).data.metrics)
    except MlflowException:  # the training run was deleted: the version still serves
        return {}


def reuse_trained(
    found: ModelVersion, settings: PipelineSettings, run_name: str, tags: dict[str, str]
) -> dict[str, Any]:
    """Record that this run reuses ``found`` and return the run's summary, shaped like
    ``ml.runs.train_month``'s with ``reused`` True (``run_id``: the record's run)."""
    client = MlflowClient()
    name = settings.registry.model_name
    version = client.get_model_version(name, found.version)  # with its aliases
    version_tags = dict(version.tags or {})
    lineage = lineage_from_tags(version_tags) or {}
    champion = _champion(client, settings)
    message = reuse_message(str(version.version), list(version.aliases or []), champion)
    mlflow.set_experiment(settings.registry.experiment)
    with mlflow.start_run(run_name=f"{run_name}-reused") as run:
        mlflow.set_tags({**tags, "kind": "reused", "family": version_tags.get("family", ""),
                         "model_version": str(version.version), "reused.run_id": version.run_id,
                         "reuse.message": message,
                         **(lineage_tags(lineage) if lineage else {})})  # fmt: skip
    metrics = _metrics(client, version.run_id)
    return {
        "run_id": run.info.run_id,
        "model_uri": f"models:/{name}/{version.version}",
        "model_name": name,
        "model_version": str(version.version),
        "family": version_tags.get("family"),
        "eval": {k[5:]: round(v, 4) for k, v in metrics.items() if k.startswith("eval_")},
        "baselines": {},
        "promoted": False,
        "reused": True,
        "aliases": sorted(version.aliases or []),
        "decision": message,
        "baseline_version": None,
        "champion_version": champion,
        "months": lineage.get("months", {}),
        "data": lineage,
    }
