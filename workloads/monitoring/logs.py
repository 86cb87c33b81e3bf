"""Read the prediction log the serving API writes: parquet files partitioned by day
under ``<predictions url>/date=YYYY-MM-DD/...``.

Each row is one scored opportunity: the request fields (``opportunity_id``,
``sales_agent``, ``product``, ``account``, ``deal_stage``, ``engage_date``,
optionally ``as_of_date``) and ``win_probability``; other columns (request id,
model name and version, time) are kept as they are. ``prediction_date`` is added
from the partition name.

A prediction belongs to the month of its partition. A demo replay scores generated
months today, as of past month-ends: its rows are read from the partitions written
since the replay started, belong to the month of their ``as_of_date``, and are told
apart from everything else by their ``opportunity_id`` prefix.
"""

from __future__ import annotations

import io
import re
from typing import Any

import fsspec
import pandas as pd

from ml import storage

REQUIRED = ("opportunity_id", "sales_agent", "product", "account", "engage_date")
_PARTITION = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


class PredictionLogError(ValueError):
    """A prediction log file lacks a column monitoring needs."""


def partitions(predictions_url: str, months: list[str], since: str | None = None) -> dict[str, str]:
    """``{YYYY-MM-DD: url}`` of the day partitions that fall in ``months``, or with
    ``since`` (``YYYY-MM-DD``) of every partition from that day on."""
    found = {}
    for name in storage.list_names(predictions_url):
        match = _PARTITION.match(name)
        if not match:
            continue
        day = match.group(1)
        if (day >= since) if since else (day[:7] in months):
            found[day] = storage.join(predictions_url, name)
    return dict(sorted(found.items()))


def _read_partition(fs: Any, day: str, url: str) -> list[pd.DataFrame]:
    """The non-empty parquet files of one day partition, each with ``prediction_date``;
    raises PredictionLogError naming a file that lacks a needed column."""
    _, path = fsspec.core.url_to_fs(url, **storage.storage_options(url))
    frames = []
    for name in sorted(p for p in fs.find(path) if p.endswith(".parquet")):
        frame = pd.read_parquet(io.BytesIO(fs.cat_file(name)))
        if not len(frame):
            continue
        missing = [c for c in (*REQUIRED, "win_probability") if c not in frame.columns]
        if missing:
            raise PredictionLogError(
                f"{url}/{name.rsplit('/', 1)[-1]}: prediction log lacks columns {missing}"
            )
        frame["prediction_date"] = pd.Timestamp(day)
        frames.append(frame)
    return frames


def read_predictions(
    predictions_url: str,
    months: list[str],
    since: str | None = None,
    prefix: str | None = None,
) -> pd.DataFrame:
    """Every logged prediction of ``months`` (``YYYY-MM``), with ``prediction_month``;
    the last prediction per opportunity and month wins. Empty when nothing was logged.

    With ``since`` and ``prefix`` (a demo replay): rows logged from ``since`` on whose
    ``opportunity_id`` starts with ``prefix``, by the month of their ``as_of_date``.
    """
    found = partitions(predictions_url, months, since)
    fs, _ = fsspec.core.url_to_fs(predictions_url, **storage.storage_options(predictions_url))
    frames = [f for day, url in found.items() for f in _read_partition(fs, day, url)]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    if prefix:
        frame = frame[frame["opportunity_id"].astype(str).str.startswith(prefix)].copy()
    frame["engage_date"] = pd.to_datetime(frame["engage_date"], errors="coerce")
    as_of = frame["as_of_date"] if "as_of_date" in frame.columns else None
    frame["as_of_date"] = (
        pd.to_datetime(as_of, errors="coerce").fillna(frame["prediction_date"])
        if as_of is not None
        else frame["prediction_date"]
    )
    by = frame["as_of_date"] if since else frame["prediction_date"]
    # numpy's month unit prints as YYYY-MM, far faster than strftime per row
    frame["prediction_month"] = by.to_numpy().astype("datetime64[M]").astype(str)
    frame = frame[frame["prediction_month"].isin(months)].copy()
    frame["win_probability"] = frame["win_probability"].astype(float)
    latest = frame.drop_duplicates(["opportunity_id", "prediction_month"], keep="last")
    return latest.reset_index(drop=True)
