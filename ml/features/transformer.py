"""The point-in-time feature transformer: raw opportunity fields + as-of date in,
features out, computed only from what was known on the as-of date.

Forbidden by construction: the deal's own close value, close date and cycle
length are never read (the input does not even carry them), and every history
aggregate counts only deals that closed on or before the as-of date, which
excludes the deal itself (it is open on that date) and every later deal.
Reference attributes (agent's manager and office, product series and price,
account sector and size) are lookup tables fitted once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ml.data import schema as s
from ml.features.history import HistoryTable, to_days
from ml.features.rows import INPUT_COLUMNS

HISTORY_KEYS = ("sales_agent", "product", "account", "manager", "regional_office", "sector")
CATEGORICAL = ("sales_agent", "manager", "regional_office", "product", "series", "sector")
NUMERIC = (
    "has_account",
    "log_sales_price",
    "log_revenue",
    "log_employees",
    "account_age_years",
    "is_subsidiary",
    "days_open",
    "engage_month",
    "hist_global_rate",
    "log_hist_global_n",
    *(f"hist_{k}_rate" for k in HISTORY_KEYS),
    *(f"log_hist_{k}_n" for k in HISTORY_KEYS),
    "hist_sales_agent_rate_90d",
)
RECENT_DAYS = 90
PRODUCT_FIXES = s.quirk_fixes("product")
"""Product spellings of the original files and their canonical names (per column:
the misspelled sector ``technolgy`` is no product)."""


@dataclass(frozen=True)
class CrmTables:
    """Clean tables a transformer is fitted from: deals as known at fit time plus
    the reference tables (accounts, products, sales teams)."""

    deals: pd.DataFrame
    accounts: pd.DataFrame
    products: pd.DataFrame
    teams: pd.DataFrame


class PointInTimeFeatures(TransformerMixin, BaseEstimator):
    """Build features for rows of :data:`INPUT_COLUMNS` (``as_of_date`` included).

    ``fit(X, tables=...)`` stores reference lookups and the closed-deal history
    of ``tables``; ``X`` is ignored. ``prior_weight`` is the number of
    pseudo-deals at the global rate that shrink each key's win rate.
    """

    def __init__(self, prior_weight: float = 20.0) -> None:
        self.prior_weight = prior_weight

    def fit(self, X=None, y=None, tables: CrmTables | None = None) -> PointInTimeFeatures:
        """Learn the lookup tables (agents, products, accounts) from ``tables``; ``X`` and ``y`` are
        ignored (the features of a row depend on the tables and its own dates only). Raises
        ValueError without ``tables``. Returns ``self``."""
        if tables is None:
            raise ValueError("PointInTimeFeatures.fit needs tables=CrmTables(...)")
        self.agents_ = tables.teams.set_index("sales_agent")[["manager", "regional_office"]]
        self.products_ = tables.products.set_index("product")[["series", "sales_price"]]
        accounts = tables.accounts.set_index("account")
        self.accounts_ = pd.DataFrame(
            {
                "sector": accounts["sector"],
                "revenue": accounts["revenue"].astype(float),
                "employees": accounts["employees"].astype(float),
                "year_established": accounts["year_established"].astype(float),
                "is_subsidiary": accounts["subsidiary_of"].notna().astype(float),
            }
        )
        closed = tables.deals[tables.deals["deal_stage"].isin(s.CLOSED_STAGES)]
        closed = self._attributes(closed)
        days = to_days(closed["close_date"])
        won = closed["deal_stage"].eq(s.WON).to_numpy(dtype=float)
        everyone = pd.Series("all", index=closed.index)
        self.history_ = {k: HistoryTable.build(closed[k], days, won) for k in HISTORY_KEYS}
        self.history_["global"] = HistoryTable.build(everyone, days, won)
        self.feature_names_out_ = np.array([*CATEGORICAL, *NUMERIC], dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Features per row of ``X``; raises ValueError naming missing input columns."""
        check_is_fitted(self, "history_")
        missing = [c for c in INPUT_COLUMNS if c not in X.columns]
        if missing:
            raise ValueError(f"input lacks columns {missing}; expected {list(INPUT_COLUMNS)}")
        rows = self._attributes(self._normalised(X))
        as_of = pd.to_datetime(rows["as_of_date"])
        if as_of.isna().any():
            raise ValueError("as_of_date must be set on every row")
        out = pd.DataFrame(index=X.index)
        for column in CATEGORICAL:
            out[column] = rows[column].astype(object).where(rows[column].notna(), None).to_numpy()
        self._reference_numbers(out, rows, as_of)
        self._history_numbers(out, rows, to_days(as_of))
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The output column names, in order (``CATEGORICAL`` then ``NUMERIC``); raises
        ``NotFittedError`` before ``fit``."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_

    @staticmethod
    def _normalised(X: pd.DataFrame) -> pd.DataFrame:
        rows = X[list(INPUT_COLUMNS)].copy()
        rows["product"] = rows["product"].replace(PRODUCT_FIXES)
        rows["account"] = rows["account"].where(rows["account"].notna(), None)
        rows["engage_date"] = pd.to_datetime(rows["engage_date"])
        return rows

    def _attributes(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` with manager, office, series, price and the account's attributes."""
        rows = rows.copy()
        agents = self.agents_.reindex(rows["sales_agent"])
        products = self.products_.reindex(rows["product"])
        accounts = self.accounts_.reindex(rows["account"])
        for frame in (agents, products, accounts):
            for column in frame.columns:
                rows[column] = frame[column].to_numpy()
        return rows

    def _reference_numbers(self, out: pd.DataFrame, rows: pd.DataFrame, as_of: pd.Series) -> None:
        out["has_account"] = rows["account"].notna().to_numpy(dtype=float)
        out["log_sales_price"] = np.log1p(rows["sales_price"].to_numpy(dtype=float))
        out["log_revenue"] = np.log1p(rows["revenue"].to_numpy(dtype=float))
        out["log_employees"] = np.log1p(rows["employees"].to_numpy(dtype=float))
        age = as_of.dt.year.to_numpy(dtype=float) - rows["year_established"].to_numpy(dtype=float)
        out["account_age_years"] = age
        out["is_subsidiary"] = rows["is_subsidiary"].to_numpy(dtype=float)
        engaged = rows["engage_date"]
        out["days_open"] = (as_of - engaged).dt.days.to_numpy(dtype=float)
        out["engage_month"] = engaged.dt.month.to_numpy(dtype=float)

    def _history_numbers(self, out: pd.DataFrame, rows: pd.DataFrame, days: np.ndarray) -> None:
        everyone = pd.Series("all", index=rows.index)
        n_all, w_all = self.history_["global"].lookup(everyone, days)
        prior = np.where(n_all > 0, (w_all + 1.0) / (n_all + 2.0), 0.5)
        out["hist_global_rate"] = prior
        out["log_hist_global_n"] = np.log1p(n_all)
        m = self.prior_weight
        for key in HISTORY_KEYS:
            n, w = self.history_[key].lookup(rows[key], days)
            out[f"hist_{key}_rate"] = (w + m * prior) / (n + m)
            out[f"log_hist_{key}_n"] = np.log1p(n)
        n_now, w_now = self.history_["sales_agent"].lookup(rows["sales_agent"], days)
        n_then, w_then = self.history_["sales_agent"].lookup(
            rows["sales_agent"], days - RECENT_DAYS
        )
        n_recent, w_recent = n_now - n_then, w_now - w_then
        out["hist_sales_agent_rate_90d"] = (w_recent + m * prior) / (n_recent + m)
