"""Fitted lookup tables of closed deals: counts and wins per key, up to any date.

Deals are aggregated per (key, close day), so the table stays small (keys x
days) however many deals there are. A lookup counts the deals of a key that
closed on or before the as-of day: one ``searchsorted`` per row, vectorised
over a batch and cheap for a single row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DAY_SPAN = 1 << 20  # days fit in 20 bits; the key code sits above them


def to_days(values: pd.Series | np.ndarray) -> np.ndarray:
    """Dates as integer days since 1970-01-01 (NaT -> a very large number)."""
    days = np.asarray(values, dtype="datetime64[D]").astype("int64")
    return np.where(np.isnat(np.asarray(values, dtype="datetime64[D]")), DAY_SPAN - 1, days)


@dataclass
class HistoryTable:
    """Cumulative closed-deal counts and wins per key and close day."""

    codes: dict[str, int]
    composite: np.ndarray  # sorted code * DAY_SPAN + day
    cum_n: np.ndarray  # len(composite) + 1, leading 0
    cum_won: np.ndarray
    starts: np.ndarray  # first composite index of each code

    @classmethod
    def build(cls, keys: pd.Series, close_days: np.ndarray, won: np.ndarray) -> HistoryTable:
        """A table from one key per closed deal, its close day and whether it was Won."""
        present = keys.notna().to_numpy()
        uniques = np.sort(keys[present].astype(str).unique())
        codes = {k: i for i, k in enumerate(uniques)}
        code = keys[present].astype(str).map(codes).to_numpy(dtype=np.int64)
        composite = code * DAY_SPAN + close_days[present]
        order = np.unique(composite, return_inverse=True)
        unique_composite, inverse = order
        n = np.bincount(inverse, minlength=len(unique_composite))
        w = np.bincount(inverse, weights=won[present], minlength=len(unique_composite))
        starts = np.searchsorted(unique_composite, np.arange(len(uniques) + 1) * DAY_SPAN)
        return cls(
            codes=codes,
            composite=unique_composite,
            cum_n=np.concatenate([[0], np.cumsum(n)]).astype(np.int64),
            cum_won=np.concatenate([[0], np.cumsum(w)]).astype(np.int64),
            starts=starts.astype(np.int64),
        )

    def lookup(self, keys: pd.Series, as_of_days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Deals closed and deals won per row, for its key, on or before its as-of day.

        Unknown or missing keys count zero.
        """
        code = keys.map(self.codes).to_numpy(dtype=float)
        known = ~np.isnan(code)
        code = np.where(known, code, 0).astype(np.int64)
        position = np.searchsorted(self.composite, code * DAY_SPAN + as_of_days, side="right")
        start = self.starts[code]
        n = np.where(known, self.cum_n[position] - self.cum_n[start], 0)
        won = np.where(known, self.cum_won[position] - self.cum_won[start], 0)
        return n, won
