"""Labelled rows: (deal, month-end) pairs of deals open at that month-end.

The model answers: "given what is known at the end of this month, will this
open deal be Won?". A row's label is the deal's final outcome, used only when
the deal closed on or before ``label_cutoff``, so training never sees
outcomes from the period it is evaluated on.
"""

from __future__ import annotations

import pandas as pd

from ml.data import schema as s

INPUT_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "sales_agent",
    "product",
    "account",
    "deal_stage",
    "engage_date",
    "as_of_date",
)
"""What a caller (training or serving) gives the fitted pipeline: raw fields plus the date."""


def open_at(deals: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """True for deals engaged on or before ``as_of`` and not closed by then."""
    engaged = deals["engage_date"] <= as_of
    return engaged & ~(deals["close_date"] <= as_of)


def labelled_rows(
    deals: pd.DataFrame, month_ends: list[pd.Timestamp], label_cutoff: pd.Timestamp
) -> pd.DataFrame:
    """Rows of :data:`INPUT_COLUMNS` plus ``won`` (0/1) for deals open at each month-end
    and closed on or before ``label_cutoff``; the stage shows what was known then."""
    closed_in_time = deals["deal_stage"].isin(s.CLOSED_STAGES) & (
        deals["close_date"] <= label_cutoff
    )
    parts = []
    for as_of in month_ends:
        chosen = deals[open_at(deals, as_of) & closed_in_time]
        part = chosen[["opportunity_id", "sales_agent", "product", "account", "engage_date"]].copy()
        part["deal_stage"] = s.ENGAGING
        part["as_of_date"] = as_of
        part["won"] = chosen["deal_stage"].eq(s.WON).astype(int)
        parts.append(part)
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return rows[[*INPUT_COLUMNS, "won"]] if len(rows) else rows
