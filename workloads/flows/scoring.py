"""Flow: batch scoring of a month snapshot with the model a registry alias points to.

Every opportunity open at the month-end (stage Engaging or Prospecting in the
snapshot written by monthly processing) gets a win probability. The expected
value of a deal is its probability times an expected deal value, known at the
month-end: the mean ``close_value`` of the product's Won deals closed on or
before that date when there are at least ``MIN_WINS`` of them (deals close
away from list price: discounts, bundles), else the product's list price. The
``value_basis`` column says which was used.

Writes, under ``<data_url>/scores/<version>/<YYYY-MM>/``:

- ``scores.parquet``: one row per open deal (inputs, agent's manager and
  office, probability, expected deal value and basis, model name and version);
- ``pipeline_value.parquet``: per ``level`` (``sales_agent``, ``manager``,
  ``regional_office``, ``total``) and ``key``: open deals, the sum of deal
  values, the expected pipeline value (sum of probability x deal value) and
  the mean probability;
- ``summary.json``: what the run did (also the flow's return value).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from prefect import flow, get_run_logger
from sklearn.pipeline import Pipeline

from ml import storage
from ml.data import schema as s
from ml.features import INPUT_COLUMNS, CrmTables
from ml.modeling.batch import batch_scores
from ml.modeling.compiled import Served
from ml.runs import load_tables
from ml.snapshots import month_end
from workloads.flows.runtime import month_run_name, rename_run, resolve, storage_task
from workloads.flows.settings import PipelineSettings, resolved

MIN_WINS = 5
LEVELS = ("sales_agent", "manager", "regional_office")
SCORING_CRON = "0 5 1 * *"


def expected_deal_values(tables: CrmTables, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per product: ``expected_deal_value`` and ``value_basis`` as known at ``as_of``."""
    deals = tables.deals
    won = deals[deals["deal_stage"].eq(s.WON) & (deals["close_date"] <= as_of)]
    stats = won.groupby("product")["close_value"].agg(["mean", "count"])
    values = tables.products.set_index("product")[["sales_price"]].join(stats, how="left")
    enough = values["count"].fillna(0) >= MIN_WINS
    return pd.DataFrame(
        {
            "expected_deal_value": values["mean"]
            .where(enough, values["sales_price"])
            .astype(float),
            "value_basis": enough.map({True: "won_mean_close_value", False: "list_price"}),
        }
    )


def score_open_deals(
    tables: CrmTables, as_of: pd.Timestamp, model: Pipeline | Served
) -> pd.DataFrame:
    """One row per deal open at ``as_of``, scored by ``model``'s compiled model, as the
    prediction service scores (``ml.modeling.batch.batch_scores``: checked against the
    fitted pipeline first, the pipeline itself when it cannot be used). ``scores.attrs``
    holds the compiled model's status under ``compiled``."""
    served = model if isinstance(model, Served) else Served(model)
    deals = tables.deals[tables.deals["deal_stage"].isin(s.OPEN_STAGES)].copy()
    deals["as_of_date"] = as_of
    inputs = deals[list(INPUT_COLUMNS)].reset_index(drop=True)
    scores = inputs.copy()
    scores["win_probability"], status = batch_scores(served, inputs)
    teams = tables.teams.set_index("sales_agent")[["manager", "regional_office"]]
    scores = scores.join(teams, on="sales_agent")
    scores = scores.join(expected_deal_values(tables, as_of), on="product")
    scores["expected_value"] = scores["win_probability"] * scores["expected_deal_value"]
    scores.attrs["compiled"] = status
    return scores


def pipeline_value(scores: pd.DataFrame) -> pd.DataFrame:
    """Open deals, deal value, expected value and mean probability per level and key."""
    everyone = scores.assign(total="all")
    parts = []
    for level in (*LEVELS, "total"):
        grouped = everyone.groupby(level, dropna=False).agg(
            open_deals=("opportunity_id", "size"),
            deal_value=("expected_deal_value", "sum"),
            expected_value=("expected_value", "sum"),
            mean_win_probability=("win_probability", "mean"),
        )
        parts.append(grouped.reset_index(names="key").assign(level=level))
    columns = ["level", "key", "open_deals", "deal_value", "expected_value", "mean_win_probability"]
    return pd.concat(parts, ignore_index=True)[columns]


def score_month(
    data_url: str,
    version: str,
    month: str,
    model: Pipeline | Served,
    model_name: str,
    model_version: str,
) -> dict[str, Any]:
    """Score ``month``'s snapshot of raw ``version`` and write the three outputs."""
    as_of = month_end(month)
    tables = load_tables(data_url, version, month)
    scored = score_open_deals(tables, as_of, model)
    compiled = scored.attrs["compiled"]
    scores = scored.assign(model_name=model_name, model_version=model_version)
    values = pipeline_value(scores)
    target = storage.join(data_url, "scores", version, month)
    storage.write_parquet(storage.join(target, "scores.parquet"), scores)
    storage.write_parquet(storage.join(target, "pipeline_value.parquet"), values)
    total = values[values["level"].eq("total")]
    summary = {
        "month": month,
        "as_of": as_of.date().isoformat(),
        "version": version,
        "model": {"name": model_name, "version": model_version},
        "open_deals": len(scores),
        "expected_pipeline_value": float(total["expected_value"].sum()),
        "pipeline_value": float(total["deal_value"].sum()),
        "value_basis": scores["value_basis"].value_counts().to_dict(),
        "compiled": compiled,
        "url": target,
    }
    storage.write_json(storage.join(target, "summary.json"), summary)
    return summary


def load_champion(name: str, alias: str) -> tuple[Served, str]:
    """The fitted pipeline the alias points to (``MLFLOW_TRACKING_URI``) with its compiled
    model, and its version."""
    from mlflow import MlflowClient

    from ml.modeling.pyfunc import load_served

    version = str(MlflowClient().get_model_version_by_alias(name, alias).version)
    return load_served(f"models:/{name}/{version}"), version


@storage_task
def score(url: str, version: str, month: str, name: str, alias: str) -> dict[str, Any]:
    """Score ``month`` with the model ``name@alias`` points to; returns :func:`score_month`'s summary."""
    model, model_version = load_champion(name, alias)
    return score_month(url, version, month, model, name, model_version)


@flow(name="batch-scoring", flow_run_name=month_run_name("scoring"))
def batch_scoring(
    month: str | None = None,
    version: str | None = None,
    settings: PipelineSettings | None = None,
) -> dict[str, Any]:
    """Score every open deal of ``month`` (default: the data's last) with the model
    the champion alias points to and write scores and expected pipeline value; returns
    :func:`score_month`'s summary."""
    settings = resolved(settings)
    version, month = resolve(settings.data_url, version, month)
    rename_run(f"scoring-{month}")
    registry = settings.registry
    summary = score(settings.data_url, version, month, registry.model_name, registry.champion_alias)
    compiled = summary["compiled"]
    how = compiled.get("runtime") if compiled["used"] else f"pipeline: {compiled['problem']}"
    get_run_logger().info(
        "month %s: %d open deals, expected pipeline value %.0f of %.0f (model v%s, scored by %s)",
        month, summary["open_deals"], summary["expected_pipeline_value"],
        summary["pipeline_value"], summary["model"]["version"], how,
    )  # fmt: skip
    return summary


def deployment_spec(settings: PipelineSettings) -> dict[str, Any]:
    """The ``batch-scoring/monthly`` deployment for ``workloads.flows.deploy``:
    the 1st of each month at 05:00 UTC, after training."""
    return {
        "flow": batch_scoring,
        "name": "monthly",
        "cron": SCORING_CRON,
        "parameters": {"settings": settings},
    }
