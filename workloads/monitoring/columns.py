"""The monitored columns of scored opportunities, and which of them a drift test can judge.

Monitored: ``sales_agent``, ``product``, ``account``, ``deal_stage`` (categorical; a
missing value is its own category, "(none)") and ``days_open`` (numerical: days from
``engage_date`` to ``as_of_date``; missing for deals without an engage date), plus the
prediction ``win_probability``.

A column is *not computable* for a pair (current, reference) when:

- it holds no value at all on either side (a month where every scored deal was
  Prospecting has no ``days_open``): there is no distribution to test;
- its reference holds a single value: the training reference of the champion is made
  of deals that were Engaging and closed later, so ``deal_stage`` is always
  "Engaging" there; a test against one value flags any month with Prospecting deals,
  which says nothing about the model's inputs having changed.

Such a column is reported with its reason and left out of the drift share.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

CATEGORICAL = ("sales_agent", "product", "account", "deal_stage")
NUMERICAL = ("days_open",)
MONITORED = (*CATEGORICAL, *NUMERICAL)
PREDICTION = "win_probability"
TARGET = "won"
MISSING = "(none)"


def monitored_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The monitored columns of scored rows (inputs, ``as_of_date``, ``win_probability``,
    optionally ``won`` and segment columns), index reset. Columns absent from ``rows``
    are all-missing."""
    data: dict[str, Any] = {}
    for column in CATEGORICAL:
        values = rows[column] if column in rows else pd.Series([None] * len(rows), dtype=object)
        # categoricals: counted and compared several times faster than pandas' string
        # dtype; the drift tests give the same scores either way
        data[column] = pd.Categorical(values.astype(object).where(values.notna(), MISSING))
    engaged = (
        pd.to_datetime(rows["engage_date"], errors="coerce") if "engage_date" in rows else None
    )
    as_of = pd.to_datetime(rows["as_of_date"], errors="coerce") if "as_of_date" in rows else None
    if engaged is None or as_of is None:
        data["days_open"] = np.full(len(rows), np.nan)
    else:
        data["days_open"] = (as_of - engaged).dt.days.to_numpy(dtype=float)
    data[PREDICTION] = rows[PREDICTION].to_numpy(dtype=float)
    for extra in (TARGET, "regional_office", "manager", "series"):
        if extra in rows:
            data[extra] = rows[extra].to_numpy()
    return pd.DataFrame(data)


def _values(column: pd.Series) -> pd.Series:
    """The values a test sees: numerical NaN dropped; categorical "(none)" kept."""
    return column.dropna()


def why_not_computable(column: str, current: pd.Series, reference: pd.Series) -> str | None:
    """Why ``column`` cannot be tested for drift between ``current`` and ``reference``
    (a sentence), or None when it can."""
    now, before = _values(current), _values(reference)
    if now.empty:
        return f"empty in the current month: no {column} among its {len(current)} rows"
    if before.empty:
        return f"empty in the reference: no {column} among its {len(reference)} rows"
    if before.nunique() == 1:
        return (
            f"the reference holds a single value ({before.iloc[0]!s}): "
            "no distribution to compare with"
        )
    return None


def computable_columns(
    current: pd.DataFrame, reference: pd.DataFrame
) -> tuple[list[str], dict[str, str]]:
    """(monitored columns a drift test can judge, {column: why not} for the others)."""
    judged, skipped = [], {}
    for column in MONITORED:
        reason = why_not_computable(column, current[column], reference[column])
        if reason:
            skipped[column] = reason
        else:
            judged.append(column)
    return judged, skipped
