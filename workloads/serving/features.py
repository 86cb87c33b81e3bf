"""Point-in-time features of a few rows without pandas: the same numbers as
:meth:`ml.features.PointInTimeFeatures.transform`, from the transformer's fitted
lookup tables turned into dicts and numpy arrays once, at model load.

``transform`` on a one-row DataFrame spends milliseconds in pandas; this
computes one row in tens of microseconds. Equality with the transformer is
checked when a model is loaded (see :mod:`workloads.serving.scorer`) and in
the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ml.features.history import _DAY_SPAN, HistoryTable
from ml.features.transformer import (
    _QUIRK_FIXES,
    CATEGORICAL,
    HISTORY_KEYS,
    NUMERIC,
    RECENT_DAYS,
    PointInTimeFeatures,
)

_NAN = float("nan")
_ACCOUNT_FIELDS = ("sector", "revenue", "employees", "year_established", "is_subsidiary")


@dataclass(frozen=True)
class RawRows:
    """Rows of raw input as columns: strings (``None`` when missing) and dates as
    integer days since 1970-01-01 (``engage_days`` NaN when missing)."""

    sales_agent: Sequence[str]
    product: Sequence[str]
    account: Sequence[str | None]
    engage_days: np.ndarray
    as_of_days: np.ndarray


@dataclass(frozen=True)
class _History:
    codes: dict[str, int]
    composite: np.ndarray
    cum_n: np.ndarray
    cum_won: np.ndarray
    starts: np.ndarray

    @classmethod
    def of(cls, table: HistoryTable) -> _History:
        return cls(table.codes, table.composite, table.cum_n, table.cum_won, table.starts)

    def lookup(self, keys: Sequence[object], days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Closed and won deals per row for its key on or before its day (0 if unknown)."""
        code = np.fromiter((self.codes.get(k, -1) for k in keys), np.int64, len(keys))
        known = code >= 0
        code = np.where(known, code, 0)
        position = np.searchsorted(self.composite, code * _DAY_SPAN + days, side="right")
        start = self.starts[code]
        n = np.where(known, self.cum_n[position] - self.cum_n[start], 0)
        won = np.where(known, self.cum_won[position] - self.cum_won[start], 0)
        return n, won


class FastFeatures:
    """The features of a fitted :class:`PointInTimeFeatures`, computed with dicts and numpy.

    ``known_agents`` and ``known_products`` are the values the model was fitted
    with (product names after the quirk fixes of ``ml.data.schema.QUIRKS``).
    """

    def __init__(self, fitted: PointInTimeFeatures) -> None:
        self.prior_weight = float(fitted.prior_weight)
        self.agents = {
            a: tuple(r)
            for a, r in zip(fitted.agents_.index, fitted.agents_.to_numpy(), strict=True)
        }
        self.products = {
            p: (r[0], float(r[1]))
            for p, r in zip(
                fitted.products_.index, fitted.products_.to_numpy(dtype=object), strict=True
            )
        }
        accounts = fitted.accounts_[list(_ACCOUNT_FIELDS)]
        self.accounts = {
            a: (r[0], *map(float, r[1:]))
            for a, r in zip(accounts.index, accounts.to_numpy(dtype=object), strict=True)
        }
        self.history = {k: _History.of(t) for k, t in fitted.history_.items()}
        self.names = [*CATEGORICAL, *NUMERIC]

    @property
    def known_agents(self) -> frozenset[str]:
        return frozenset(self.agents)

    @property
    def known_products(self) -> frozenset[str]:
        return frozenset(self.products) | frozenset(_QUIRK_FIXES)

    def transform(self, rows: RawRows) -> tuple[list[list[object]], np.ndarray]:
        """(categorical values per column in ``CATEGORICAL`` order, numeric matrix
        (rows x ``NUMERIC``)), equal to what the fitted transformer computes."""
        products = [_QUIRK_FIXES.get(p, p) for p in rows.product]
        agent = [self.agents.get(a, (None, None)) for a in rows.sales_agent]
        product = [self.products.get(p, (None, _NAN)) for p in products]
        account = [self.accounts.get(a, (None, _NAN, _NAN, _NAN, _NAN)) for a in rows.account]
        keys = {
            "sales_agent": list(rows.sales_agent),
            "manager": [a[0] for a in agent],
            "regional_office": [a[1] for a in agent],
            "product": products,
            "series": [p[0] for p in product],
            "sector": [a[0] for a in account],
            "account": list(rows.account),
        }
        categorical = [keys[c] for c in CATEGORICAL]
        numeric = np.column_stack(
            [*self._reference(rows, product, account), *self._history(keys, rows.as_of_days)]
        )
        return categorical, numeric

    @staticmethod
    def _reference(rows: RawRows, product: list, account: list) -> list[np.ndarray]:
        price = np.array([p[1] for p in product], dtype=float)
        attrs = np.array([a[1:] for a in account], dtype=float).reshape(len(account), 4)
        as_of = rows.as_of_days.astype("datetime64[D]")
        engaged = rows.engage_days
        engaged_dates = np.where(np.isnan(engaged), 0, engaged).astype("datetime64[D]")
        year = as_of.astype("datetime64[Y]").astype(float) + 1970.0
        month = (engaged_dates.astype("datetime64[M]").astype(int) % 12 + 1).astype(float)
        missing = np.isnan(engaged)
        return [
            np.array([a is not None for a in rows.account], dtype=float),
            np.log1p(price),
            np.log1p(attrs[:, 0]),
            np.log1p(attrs[:, 1]),
            year - attrs[:, 2],
            attrs[:, 3],
            np.where(missing, _NAN, rows.as_of_days - engaged),
            np.where(missing, _NAN, month),
        ]

    def _history(self, keys: dict[str, list], days: np.ndarray) -> list[np.ndarray]:
        n_all, w_all = self.history["global"].lookup(["all"] * len(days), days)
        prior = np.where(n_all > 0, (w_all + 1.0) / (n_all + 2.0), 0.5)
        m = self.prior_weight
        rates, counts = [], []
        for key in HISTORY_KEYS:
            n, w = self.history[key].lookup(keys[key], days)
            rates.append((w + m * prior) / (n + m))
            counts.append(np.log1p(n))
        agent = self.history["sales_agent"]
        n_now, w_now = agent.lookup(keys["sales_agent"], days)
        n_then, w_then = agent.lookup(keys["sales_agent"], days - RECENT_DAYS)
        recent = ((w_now - w_then) + m * prior) / ((n_now - n_then) + m)
        return [prior, np.log1p(n_all), *rates, *counts, recent]
