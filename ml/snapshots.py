"""Month-end snapshots: the pipeline as it was known at the end of a month.

A snapshot at ``as_of`` keeps the deals engaged on or before ``as_of`` and
shows every deal that closed later as still open (stage Engaging, no close
date, no close value). Prospecting deals carry no date at all, so they appear
only in snapshots taken on or after the data's last known date. Snapshots are
pure functions of the data and the date, hence reproducible.
"""

from __future__ import annotations

import re

import pandas as pd

from ml.data import schema as s


def month_end(month: str) -> pd.Timestamp:
    """``"2017-06"`` -> ``2017-06-30``; raises ValueError for anything else."""
    if not isinstance(month, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ValueError(f"month must look like YYYY-MM, got {month!r}")
    return pd.Period(month, freq="M").end_time.normalize()


def last_known_date(deals: pd.DataFrame) -> pd.Timestamp:
    """The latest engage or close date in ``deals``."""
    return max(deals["engage_date"].max(), deals["close_date"].max())


def latest_month(deals: pd.DataFrame) -> str:
    """The month of the data's last known date, as ``YYYY-MM``."""
    return last_known_date(deals).strftime("%Y-%m")


def month_ends(deals: pd.DataFrame, until: pd.Timestamp | None = None) -> list[pd.Timestamp]:
    """Every month-end from the first engagement up to ``until`` (default: the data's end)."""
    until = until if until is not None else last_known_date(deals)
    start = deals["engage_date"].min().to_period("M")
    return [p.end_time.normalize() for p in pd.period_range(start, until.to_period("M"))]


def snapshot(deals: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """``deals`` as known at the end of day ``as_of`` (see the module docstring)."""
    prospect = deals["deal_stage"].eq(s.PROSPECTING) & (as_of >= last_known_date(deals))
    known = deals[(deals["engage_date"] <= as_of) | prospect].copy()
    later = known["close_date"] > as_of
    known.loc[later, "deal_stage"] = s.ENGAGING
    known.loc[later, "close_date"] = pd.NaT
    known.loc[later, "close_value"] = float("nan")
    return known.reset_index(drop=True)
