"""Read the prediction log the serving API writes: parquet files partitioned by day
under ``<predictions url>/date=YYYY-MM-DD/...``.

Each row is one scored opportunity: the request fields (``opportunity_id``,
``sales_agent``, ``product``, ``account``, ``deal_stage``, ``engage_date``,
optionally ``as_of_date``) and ``win_probability``; other columns (request id,
model name and version, time) are kept as they are. ``prediction_date`` is added
from the partition name.
"""

from __future__ import annotations

import io
import re

import fsspec
import pandas as pd

from ml import storage

REQUIRED = ("opportunity_id", "sales_agent", "product", "account", "engage_date")
_PARTITION = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


class PredictionLogError(ValueError):
    """A prediction log file lacks a column monitoring needs."""


def partitions(predictions_url: str, months: list[str]) -> dict[str, str]:
    """``{YYYY-MM-DD: url}`` of the day partitions that fall in ``months``."""
    found = {}
    for name in storage.list_names(predictions_url):
        match = _PARTITION.match(name)
        if match and match.group(1)[:7] in months:
            found[match.group(1)] = storage.join(predictions_url, name)
    return dict(sorted(found.items()))


def _parquet_files(url: str) -> list[str]:
    fs, path = fsspec.core.url_to_fs(url, **storage.storage_options(url))
    protocol = url.split("://", 1)[0] + "://" if "://" in url else ""
    return [protocol + p for p in sorted(fs.find(path)) if p.endswith(".parquet")]


def _read_day(day: str, url: str) -> pd.DataFrame:
    frames = [pd.read_parquet(io.BytesIO(storage.read_bytes(f))) for f in _parquet_files(url)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    missing = [c for c in (*REQUIRED, "win_probability") if c not in frame.columns]
    if missing:
        raise PredictionLogError(f"{url}: prediction log lacks columns {missing}")
    frame["prediction_date"] = pd.Timestamp(day)
    return frame


def read_predictions(predictions_url: str, months: list[str]) -> pd.DataFrame:
    """Every logged prediction of ``months`` (``YYYY-MM``), with ``prediction_month``;
    the last prediction per opportunity and month wins. Empty when nothing was logged."""
    days = [_read_day(day, url) for day, url in partitions(predictions_url, months).items()]
    days = [d for d in days if len(d)]
    if not days:
        return pd.DataFrame()
    frame = pd.concat(days, ignore_index=True)
    frame["engage_date"] = pd.to_datetime(frame["engage_date"], errors="coerce")
    as_of = frame["as_of_date"] if "as_of_date" in frame.columns else None
    frame["as_of_date"] = (
        pd.to_datetime(as_of, errors="coerce").fillna(frame["prediction_date"])
        if as_of is not None
        else frame["prediction_date"]
    )
    frame["prediction_month"] = frame["prediction_date"].dt.strftime("%Y-%m")
    frame["win_probability"] = frame["win_probability"].astype(float)
    latest = frame.drop_duplicates(["opportunity_id", "prediction_month"], keep="last")
    return latest.reset_index(drop=True)
