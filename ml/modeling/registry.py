"""Register a trained model, give it the challenger alias, apply the promotion gate
(``ml.modeling.promotion``), and serve the best baseline when the gate asks for it.

The current champion is re-scored on the challenger's out-of-time rows first,
unless it cannot score them: a champion that does not know the rows' sales
agents or products (or most of their accounts) was trained on other data and
is unfit for this data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from sklearn.pipeline import Pipeline

from ml.modeling.baseline import best_baseline
from ml.modeling.evaluate import metrics
from ml.modeling.lineage import lineage_from_tags, lineage_tags
from ml.modeling.promotion import Decision, Incumbent, decide
from ml.modeling.pyfunc import known_values, load_pipeline
from ml.modeling.tracking import log_baseline
from ml.modeling.train import TrainingResult
from ml.settings import PipelineSettings

UNKNOWN_ACCOUNTS_UNFIT = 0.5
"""A champion that knows fewer than half the accounts of the rows was trained on other data."""


@dataclass(frozen=True)
class Logged:
    """What one training run logged and how: ``data`` (manifest), ``lineage`` and run ``tags``."""

    run_id: str
    model_uri: str
    run_name: str
    data: dict[str, Any]
    lineage: dict[str, Any] | None = None
    tags: dict[str, str] | None = None


def coverage_problem(pipeline: Pipeline, rows: pd.DataFrame) -> str | None:
    """Why ``pipeline`` cannot score ``rows`` (values of ``INPUT_COLUMNS``), or None."""
    agents, products = known_values(pipeline)
    problems = []
    for column, known in (("sales_agent", agents), ("product", products)):
        seen = set(rows[column].dropna())
        unknown = sorted(seen - known)
        if unknown:
            problems.append(
                f"{len(unknown)} of the {len(seen)} {column} values are unknown to it, "
                f"e.g. {unknown[0]!r}"
            )
    accounts = rows["account"].dropna()
    known_accounts = pipeline.named_steps["features"].accounts_.index
    share = float((~accounts.isin(known_accounts)).mean()) if len(accounts) else 0.0
    if share > UNKNOWN_ACCOUNTS_UNFIT:
        problems.append(f"{share:.0%} of the rows' accounts are unknown to it")
    return "; ".join(problems) or None


def assess_champion(
    client: MlflowClient, result: TrainingResult, settings: PipelineSettings
) -> tuple[Incumbent | None, ModelVersion | None, list[str]]:
    """The champion as the gate sees it on the challenger's evaluation rows, its
    registry entry, and notes; (None, None, note) when there is no champion."""
    name, alias = settings.registry.model_name, settings.registry.champion_alias
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None, None, [f"no '{alias}' yet"]
    tags = dict(version.tags or {})
    source = (lineage_from_tags(tags) or {}).get("source")
    known = Incumbent(str(version.version), source, tags.get("kind", "learned"))
    try:
        pipeline = load_pipeline(f"models:/{name}/{version.version}")
        unfit = coverage_problem(pipeline, result.eval_inputs)
        if unfit:
            return replace(known, unfit=unfit), version, []
        p = np.asarray(pipeline.predict_proba(result.eval_inputs))[:, 1]
    except Exception as exc:  # any failure to load or score makes it unfit, not the run fail
        return replace(known, unfit=f"it could not be scored: {exc}"), version, []
    return replace(known, metrics=metrics(result.eval_labels, p)), version, []


def register_and_gate(
    result: TrainingResult, logged: Logged, settings: PipelineSettings
) -> tuple[str, Decision, str | None]:
    """Register ``logged``'s model as a new version with the challenger alias; promote it
    to champion when the gate passes, or register and promote the best baseline when the
    gate asks for it. The decision is logged to the run(s).

    Returns (new version, decision, the baseline's version or None).
    """
    client = MlflowClient()
    reg = settings.registry
    incumbent, entry, notes = assess_champion(client, result, settings)
    version = mlflow.register_model(logged.model_uri, reg.model_name).version
    client.set_registered_model_alias(reg.model_name, reg.challenger_alias, version)
    source = (logged.lineage or {}).get("source")
    decision = decide(result.eval_metrics, result.baselines, incumbent, settings.margins,
                      source=source, notes=notes)  # fmt: skip
    if decision.promote:
        client.set_registered_model_alias(reg.model_name, reg.champion_alias, version)
    _tag_version(client, reg.model_name, version, logged, "learned", result.family)
    _log_decision(client, logged.run_id, reg.model_name, version, decision, incumbent)
    baseline = None
    if decision.serve_baseline:
        baseline = _serve_baseline(client, result, logged, decision, entry, settings)
    return version, decision, baseline


def _same_data(entry: ModelVersion | None, lineage: dict[str, Any] | None) -> bool:
    """Whether ``entry`` is a baseline of exactly this data (version and month)."""
    if entry is None or not lineage or (entry.tags or {}).get("kind") != "baseline":
        return False
    served = lineage_from_tags(dict(entry.tags)) or {}
    return (served.get("version"), served.get("month")) == (
        lineage.get("version"),
        lineage.get("month"),
    )


def _serve_baseline(
    client: MlflowClient,
    result: TrainingResult,
    logged: Logged,
    decision: Decision,
    entry: ModelVersion | None,
    settings: PipelineSettings,
) -> str:
    """Log, register and promote the best baseline of ``result``; returns its version
    (the champion's own when it already is this data's baseline)."""
    reg = settings.registry
    if entry is not None and _same_data(entry, logged.lineage):
        decision.notes.append(f"champion v{entry.version} is already this data's baseline")
        return str(entry.version)
    name = best_baseline(result)
    run_id, uri = log_baseline(
        result, name, run_name=f"baseline-{logged.run_name}", settings=settings,
        data=logged.data, lineage=logged.lineage, tags=logged.tags,
    )  # fmt: skip
    version = mlflow.register_model(uri, reg.model_name).version
    client.set_registered_model_alias(reg.model_name, reg.champion_alias, version)
    _tag_version(client, reg.model_name, version, logged, "baseline", name)
    served = Decision(True, decision.reason, [], dict(result.baselines[name]),
                      decision.champion_version, decision.notes)  # fmt: skip
    _log_decision(client, run_id, reg.model_name, version, served, None)
    return str(version)


def _tag_version(
    client: MlflowClient, name: str, version: str, logged: Logged, kind: str, family: str
) -> None:
    """``kind`` (learned or baseline), ``family``, the lineage and the training
    fingerprint (``training.*`` tags of the run) on the model version."""
    lineage = logged.lineage
    tags = {"kind": kind, "family": family, **(lineage_tags(lineage) if lineage else {})}
    tags.update({k: v for k, v in (logged.tags or {}).items() if k.startswith("training.")})
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def _log_decision(
    client: MlflowClient,
    run_id: str,
    name: str,
    version: str,
    decision: Decision,
    incumbent: Incumbent | None,
) -> None:
    verdict = "promoted" if decision.promote else "not promoted"
    client.log_dict(run_id, decision.as_dict(), "promotion.json")
    client.set_tag(run_id, "promotion.decision", verdict)
    client.set_tag(run_id, "promotion.reason", decision.reason[:5000])
    client.set_tag(run_id, "model_version", version)
    client.log_metric(run_id, "promoted", float(decision.promote))
    for key, value in ((incumbent.metrics if incumbent else None) or {}).items():
        if np.isfinite(value):
            client.log_metric(run_id, f"champion_eval_{key}", float(value))
    client.set_model_version_tag(name, version, "promotion", verdict)
    client.set_model_version_tag(name, version, "promotion.reason", decision.reason[:5000])
    for metric in ("roc_auc", "brier"):
        value = decision.challenger.get(metric, float("nan"))
        client.set_model_version_tag(name, version, f"eval_{metric}", f"{value:.4f}")
