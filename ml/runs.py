"""The pipeline's three steps as plain functions over storage URLs: acquire,
process a month (validate, snapshot, features), train for a month.

Storage layout under ``data_url``::

    raw/<version>/...                        see ml.data.acquire
    processed/<version>/quality.json         the latest quality report of the version,
    processed/<version>/quarantine.parquet   and its quarantine (written even when no
                                             month can be resolved from the data)
    processed/<version>/<YYYY-MM>/
        quality.json                         the quality report (always written)
        quarantine.parquet                   bad rows with reasons (always written)
        <table>.parquet                      clean tables as known at the month-end
        features.parquet                     features of the deals open at the month-end
        summary.json                         what the step did

Each function returns a JSON-able summary for logs and the orchestrator. Bad
data raises :class:`~ml.validation.QualityGateError` or :class:`DataError`,
whose message says what is wrong and where the evidence is.
"""

from __future__ import annotations

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
from ml.validation import ValidationResult, validate_files
from ml.validation.tables import parse_files


class DataError(ValueError):
    """The data cannot support the step (no valid date, too few months); the message
    names the file and column, or what more is needed."""


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
    """The URL of ``month``'s processed tables of raw data ``version``:
    ``<data_url>/processed/<version>/<month>``."""
    return storage.join(data_url, "processed", version, month)


def resolve_month(data_url: str, version: str | None, month: str | None) -> tuple[str, str]:
    """The raw version (default: the latest acquired) and month (default: the month of
    the data's last valid date, read in the date format detected per column).

    Raises ValueError for a malformed ``month`` and :class:`DataError` when no
    date in ``sales_pipeline.csv`` can be read.
    """
    version = version or latest_version(data_url)
    if month:
        month_end(month)  # raises ValueError for a malformed month
        return version, month
    files, _manifest = read_raw(data_url, version)
    deals = parse_files(files).typed.get(s.PIPELINE)
    return version, _last_month(deals, version)


def _month_of(deals: pd.DataFrame | None) -> str | None:
    """The month of the last valid date of ``deals``; None when no date is valid."""
    if deals is None or (deals["engage_date"].isna().all() and deals["close_date"].isna().all()):
        return None
    return latest_month(deals)


def _last_month(deals: pd.DataFrame | None, version: str) -> str:
    month = _month_of(deals)
    if month is None:
        raise DataError(
            f"raw data {version}: sales_pipeline.csv has no valid engage_date or close_date, "
            "so no month can be chosen; see quality.json for how its dates were read"
        )
    return month


def _write_evidence(targets: list[str], result: ValidationResult) -> None:
    for target in targets:
        storage.write_json(storage.join(target, "quality.json"), result.report)
        storage.write_parquet(storage.join(target, "quarantine.parquet"), result.quarantine)


def process_month(
    data_url: str, version: str, month: str | None, quality_threshold: float
) -> dict[str, Any]:
    """Validate raw ``version``, then write the snapshot and features of ``month``
    (default: the month of the clean data's last date).

    The quality report and the quarantine are written before the gate (under the
    version, and under the month when it is known), so a stopped run still leaves
    its evidence. Raises QualityGateError below the threshold, DataError when no
    month can be resolved.
    """
    files, manifest = read_raw(data_url, version)
    result = validate_files(files, quality_threshold)
    clean = result.tables.get(s.PIPELINE)
    month = month or _month_of(clean)
    targets = [storage.join(data_url, "processed", version)]
    if month:
        month_end(month)
        targets.append(processed_url(data_url, version, month))
    _write_evidence(targets, result)
    result.gate(evidence=targets[-1])
    if not month:
        month = _last_month(clean, version)
    as_of = month_end(month)
    tables = dict(result.tables)
    tables[s.PIPELINE] = snapshot(result.tables[s.PIPELINE], as_of)
    target = processed_url(data_url, version, month)
    for name, frame in tables.items():
        storage.write_parquet(storage.join(target, f"{name}.parquet"), frame)
    features = _open_deal_features(tables, as_of)
    storage.write_parquet(storage.join(target, "features.parquet"), features)
    summary = {
        "version": version,
        "month": month,
        "as_of": as_of.date().isoformat(),
        "source": manifest.get("source"),
        "quality_score": result.report["score"],
        "rows_read": result.report["rows"].get(s.PIPELINE, 0),
        "quarantined_rows": result.report["quarantined_rows"],
        "quirks": result.report["quirks"],
        "reading": result.report["reading"],
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
    data_url: str,
    version: str,
    month: str,
    settings: PipelineSettings,
    run_name: str,
    tags: dict[str, str] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Train on the tables of ``month``, log to MLflow with the data's lineage, register,
    apply the gate (which may serve the best baseline instead). ``tags`` go on the
    MLflow run(s) as given, with the training fingerprint (``ml.modeling.fingerprint``).

    Unless ``force``, a learned version with the same fingerprint (same data, code and
    settings) is reused instead: nothing is trained or registered, the gate does not
    run and every alias stays where it is (``ml.modeling.reuse``); the summary then
    has ``reused`` True. Raises DataError when the data spans too few months."""
    from mlflow import MlflowClient

    from ml.modeling.fingerprint import fingerprint_tags, training_fingerprint
    from ml.modeling.lineage import build_lineage
    from ml.modeling.registry import Logged, register_and_gate
    from ml.modeling.reuse import find_trained, reuse_trained
    from ml.modeling.tracking import log_training
    from ml.modeling.train import train

    fingerprint = training_fingerprint(version, month, settings.training)
    tags = {**(tags or {}), **fingerprint_tags(fingerprint)}
    found = None if force else find_trained(MlflowClient(), settings.registry.model_name,
                                            fingerprint)  # fmt: skip
    if found is not None:
        return reuse_trained(found, settings, run_name, tags)
    tables = load_tables(data_url, version, month)
    try:
        result = train(tables, settings.training)
    except ValueError as exc:  # too few months or one class only: the data's limit
        raise DataError(f"raw data {version}, month {month}: cannot train: {exc}") from None
    manifest = storage.read_json(storage.join(data_url, "raw", version, "manifest.json"))
    processing = storage.read_json(storage.join(processed_url(data_url, version, month),
                                                "summary.json"))  # fmt: skip
    data = {
        "version": version,
        "month": month,
        "files": manifest["files"],
        "source": manifest.get("source"),
        "url": storage.join(data_url, "raw", version),
    }
    lineage = build_lineage(manifest.get("source"), version, month, processing,
                            result.info["rows"], result.info["months"])  # fmt: skip
    run_id, model_uri = log_training(result, run_name=run_name, settings=settings, data=data,
                                     lineage=lineage, tags=tags)  # fmt: skip
    logged = Logged(run_id, model_uri, run_name, data, lineage, tags)
    model_version, decision, baseline = register_and_gate(result, logged, settings)
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
        "reused": False,
        "decision": decision.reason,
        "baseline_version": baseline,
        "champion_version": model_version
        if decision.promote
        else baseline or decision.champion_version,
        "months": result.info["months"],
        "data": lineage,
    }
