"""Time-ordered splits of labelled rows: train, then validation, then evaluation.

With month-ends m_1 < ... < m_K that have labelled rows (the last month-end of
the data has none: nothing closes after it), the last ``eval_months`` are the
out-of-time evaluation, the ``val_months`` before them the validation used for
tuning and calibration, and the rest training. Labels of each part are only
those known at the first month-end of the next part, so no part ever sees an
outcome from the period it is compared on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml.features.rows import labelled_rows
from ml.snapshots import last_known_date, month_ends


@dataclass(frozen=True)
class Splits:
    """Labelled rows per part and the month-ends each part covers."""

    train: pd.DataFrame
    val: pd.DataFrame
    eval: pd.DataFrame
    months: dict[str, list[str]]


def time_splits(deals: pd.DataFrame, eval_months: int, val_months: int) -> Splits:
    """Split ``deals`` (as known at the data's end) into time-ordered labelled rows.

    Raises ValueError when the data spans too few months for the three parts.
    """
    end = last_known_date(deals)
    months = [m for m in month_ends(deals) if m < end]
    if len(months) < eval_months + val_months + 1:
        raise ValueError(
            f"{len(months)} labelled month-ends; need at least {eval_months + val_months + 1} "
            f"for {eval_months} evaluation and {val_months} validation months"
        )
    ev = months[-eval_months:]
    va = months[-eval_months - val_months : -eval_months]
    tr = months[: -eval_months - val_months]
    parts = {
        "train": labelled_rows(deals, tr, va[0]),
        "val": labelled_rows(deals, va, ev[0]),
        "eval": labelled_rows(deals, ev, end),
    }
    for name, rows in parts.items():
        if len(rows) == 0 or rows["won"].nunique() < 2:
            raise ValueError(f"the {name} part has no rows of both classes; more data is needed")
    labels = {
        name: [m.strftime("%Y-%m") for m in part]
        for name, part in (("train", tr), ("val", va), ("eval", ev))
    }
    return Splits(parts["train"], parts["val"], parts["eval"], labels)
