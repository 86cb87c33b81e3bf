"""The pipeline's three steps as plain functions over storage URLs: acquire,
process a month (validate, snapshot, features), train for a month.

Storage layout under ``data_url``::

    raw/<version>/...                        see ml.data.acquire
    processed/<version>/<YYYY-MM>/
        quality.json                         the quality report (always written)
        quarantine.parquet                   bad rows with reasons (always written)
        <table>.parquet                      clean tables as known at the month-end
        features.parquet                     features of the deals open at the month-end
        summary.json                         what the step did

Each function returns a JSON-able summary for logs and the orchestrator.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from ml import storage
from ml.data import schema as s
from ml.data.acquire import acquire, latest_version, read_raw
from ml.data.sources import Source
from ml.features import INPUT_COLUMNS, CrmTables, PointInTimeFeatures
from ml.features.rows import open_at
from ml.settings import PipelineSettings
from ml.snapshots import latest_month, month_end, snapshot
from ml.validation import validate_files


def acquire_step(source: Source, data_url: str) -> dict[str, Any]:
    """Land ``source``'s files under ``data_url`` (a no-op for data already there)."""
    result = acquire(source, data_url)
    return {
        "version": result.version,
        "url": result.url,
        "created": result.created,
        "message": result.message,
        "files": result.manifest["files"],
    }


def processed_url(data_url: str, version: str, month: str) -> str:
    return storage.join(data_url, "processed", version, month)


def resolve_month(data_url: str, version: str | None, month: str | None) -> tuple[str, str]:
    """The raw version (default: the latest acquired) and month (default: the data's last)."""
    version = version or latest_version(data_url)
    if month:
        month_end(month)  # raises ValueError for a malformed month
        return version, month
    files, _manifest = read_raw(data_url, version)
    deals = pd.read_csv(
        io.BytesIO(files[f"{s.PIPELINE}.csv"]),
        usecols=["engage_date", "close_date"],
        parse_dates=["engage_date", "close_date"],
        date_format="%Y-%m-%d",
    )
    return version, latest_month(deals)


def process_month(
    data_url: str, version: str, month: str, quality_threshold: float
) -> dict[str, Any]:
    """Validate raw ``version``, then write the snapshot and features of ``month``.

    The quality report and the quarantine are written before the gate, so a
    stopped run still leaves its evidence. Raises QualityGateError below the threshold.
    """
    files, manifest = read_raw(data_url, version)
    result = validate_files(files, quality_threshold)
    target = processed_url(data_url, version, month)
    storage.write_json(storage.join(target, "quality.json"), result.report)
    storage.write_parquet(storage.join(target, "quarantine.parquet"), result.quarantine)
    result.gate()
    as_of = month_end(month)
    tables = dict(result.tables)
    tables[s.PIPELINE] = snapshot(result.tables[s.PIPELINE], as_of)
    for name, frame in tables.items():
        storage.write_parquet(storage.join(target, f"{name}.parquet"), frame)
    features = _open_deal_features(tables, as_of)
    storage.write_parquet(storage.join(target, "features.parquet"), features)
    summary = {
        "version": version,
        "month": month,
        "as_of": as_of.date().isoformat(),
        "quality_score": result.report["score"],
        "quarantined_rows": result.report["quarantined_rows"],
        "quirks": result.report["quirks"],
        "snapshot_rows": len(tables[s.PIPELINE]),
        "open_deals_scored": len(features),
        "manifest": manifest["files"],
    }
    storage.write_json(storage.join(target, "summary.json"), summary)
    return summary


def load_tables(data_url: str, version: str, month: str) -> CrmTables:
    """The clean tables written by :func:`process_month` for ``month``."""
    target = processed_url(data_url, version, month)
    read = {t: storage.read_parquet(storage.join(target, f"{t}.parquet")) for t in s.TABLES}
    return CrmTables(read[s.PIPELINE], read[s.ACCOUNTS], read[s.PRODUCTS], read[s.TEAMS])


def _open_deal_features(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.DataFrame:
    crm = CrmTables(tables[s.PIPELINE], tables[s.ACCOUNTS], tables[s.PRODUCTS], tables[s.TEAMS])
    deals = crm.deals[open_at(crm.deals, as_of)].copy()
    deals["as_of_date"] = as_of
    inputs = deals[list(INPUT_COLUMNS)].reset_index(drop=True)
    features = PointInTimeFeatures().fit(tables=crm).transform(inputs)
    features.insert(0, "opportunity_id", inputs["opportunity_id"].to_numpy())
    features.insert(1, "as_of_date", as_of)
    return features


def train_month(
    data_url: str, version: str, month: str, settings: PipelineSettings, run_name: str
) -> dict[str, Any]:
    """Train on the tables of ``month``, log to MLflow, register, apply the gate."""
    from ml.modeling.registry import register_and_gate
    from ml.modeling.tracking import log_training
    from ml.modeling.train import train

    tables = load_tables(data_url, version, month)
    result = train(tables, settings.training)
    manifest = storage.read_json(storage.join(data_url, "raw", version, "manifest.json"))
    data = {
        "version": version,
        "month": month,
        "files": manifest["files"],
        "source": manifest.get("source"),
    }
    run_id, model_uri = log_training(result, run_name=run_name, settings=settings, data=data)
    model_version, decision = register_and_gate(result, model_uri, run_id, settings)
    return {
        "run_id": run_id,
        "model_uri": model_uri,
        "model_name": settings.registry.model_name,
        "model_version": model_version,
        "family": result.family,
        "eval": {k: round(v, 4) for k, v in result.eval_metrics.items()},
        "baselines": {
            n: {k: round(v, 4) for k, v in m.items()} for n, m in result.baselines.items()
        },
        "promoted": decision.promote,
        "decision": decision.reason,
        "months": result.info["months"],
    }
