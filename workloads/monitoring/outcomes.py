"""Delayed labels: deals close weeks after they were scored. Past predictions are
joined by opportunity id with the outcomes known at a date: the deals closed in the
latest acquired data, or a table of outcomes (``opportunity_id``, ``won``,
``close_date``) such as the one a demo replay writes for its generated deals."""

from __future__ import annotations

import pandas as pd

from ml import storage
from ml.data import schema as s
from ml.data.acquire import latest_version, read_raw
from ml.validation.tables import parse_files


def known_outcomes(
    data_url: str, outcomes_url: str | None = None, as_of: pd.Timestamp | None = None
) -> pd.DataFrame:
    """``opportunity_id``, ``won`` (0/1) and ``close_date`` of every deal closed on or
    before ``as_of`` (default: all): from the parquet table at ``outcomes_url`` when
    given, else from the latest acquired data under ``data_url``."""
    known = outcome_table(outcomes_url) if outcomes_url else closed_deals(data_url)
    if as_of is not None:
        known = known[known["close_date"] <= as_of]
    return known.reset_index(drop=True)


def outcome_table(url: str) -> pd.DataFrame:
    """The outcomes stored at ``url`` (parquet with ``opportunity_id``, ``won``,
    ``close_date``); raises ValueError naming a missing column."""
    table = storage.read_parquet(url)
    missing = [c for c in ("opportunity_id", "won", "close_date") if c not in table]
    if missing:
        raise ValueError(f"{url}: outcomes lack columns {missing}")
    return pd.DataFrame(
        {
            "opportunity_id": table["opportunity_id"].astype(str),
            "won": table["won"].astype(int),
            "close_date": pd.to_datetime(table["close_date"]),
        }
    ).drop_duplicates("opportunity_id")


def closed_deals(data_url: str) -> pd.DataFrame:
    """``opportunity_id``, ``won`` (0/1) and ``close_date`` of every deal closed in the
    latest acquired data."""
    files, _ = read_raw(data_url, latest_version(data_url))
    deals = parse_files(files).typed[s.PIPELINE]  # dates in the format detected per column
    closed = deals[deals["deal_stage"].isin(s.CLOSED_STAGES)]
    return pd.DataFrame(
        {
            "opportunity_id": closed["opportunity_id"].astype(str),
            "won": closed["deal_stage"].eq(s.WON).astype(int),
            "close_date": closed["close_date"],
        }
    ).drop_duplicates("opportunity_id")


def with_outcomes(predictions: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Predictions with ``won`` where the deal has closed since (NaN while open)."""
    keyed = predictions.assign(opportunity_id=predictions["opportunity_id"].astype(str))
    return keyed.merge(outcomes, on="opportunity_id", how="left")
