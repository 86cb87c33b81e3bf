"""Point-in-time features of a few rows without pandas: the same numbers as
:meth:`ml.features.PointInTimeFeatures.transform`, from the transformer's fitted
lookup tables turned into dicts and numpy arrays once, at model load.

``transform`` on a one-row DataFrame spends milliseconds in pandas; this
computes one row in tens of microseconds. Equality with the transformer is
checked when a model is loaded (see :mod:`workloads.serving.scorer`) and in
the tests.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from ml.features.history import DAY_SPAN, HistoryTable
from ml.features.transformer import (
    CATEGORICAL,
    HISTORY_KEYS,
    NUMERIC,
    PRODUCT_FIXES,
    RECENT_DAYS,
    PointInTimeFeatures,
)

_NAN = float("nan")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
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


class _Histories:
    """Every fitted history table in one sorted array, so that all the lookups of
    a batch (each key, the global rate, the agent 90 days earlier) are one
    ``searchsorted``. Table ``t``'s key codes are shifted past those of the
    tables before it, which keeps the concatenation sorted."""

    def __init__(self, tables: dict[str, HistoryTable]) -> None:
        self.codes: dict[str, dict[str, int]] = {}
        composites, counts, wins, shift = [], [], [], 0
        for name, table in tables.items():
            self.codes[name] = {k: c + shift for k, c in table.codes.items()}
            composites.append(table.composite + shift * DAY_SPAN)
            counts.append(np.diff(table.cum_n))
            wins.append(np.diff(table.cum_won))
            shift += len(table.codes)
        self.composite = np.concatenate(composites)
        self.cum_n = np.concatenate([[0], np.cumsum(np.concatenate(counts))])
        self.cum_won = np.concatenate([[0], np.cumsum(np.concatenate(wins))])
        self.starts = np.searchsorted(self.composite, np.arange(shift + 1) * DAY_SPAN)
        # the same arrays as Python lists, for one row (see lookup)
        self._lists = (self.composite.tolist(), self.cum_n.tolist(), self.cum_won.tolist(),
                       self.starts.tolist())  # fmt: skip

    def lookup(
        self, queries: Sequence[tuple[str, Sequence[Any], np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Closed and won deals, one row per query ``(table, keys, days)`` and one
        column per key: deals of that key closed on or before the day (0 if unknown)."""
        codes = self.codes
        code = np.array([[codes[t].get(k, -1) for k in keys] for t, keys, _d in queries])
        days = np.vstack([d for _t, _k, d in queries])
        known = code >= 0
        code = np.where(known, code, 0)
        position = np.searchsorted(self.composite, code * DAY_SPAN + days, side="right")
        start = self.starts[code]
        n = np.where(known, self.cum_n[position] - self.cum_n[start], 0)
        won = np.where(known, self.cum_won[position] - self.cum_won[start], 0)
        return n, won

    def lookup_row(self, queries: Sequence[tuple[str, Any, int]]) -> tuple[list[int], list[int]]:
        """Closed and won deals for one row's queries ``(table, key, day)``, as lists,
        with ``bisect`` on lists: a dozen numpy calls would cost several times the work."""
        composite, cum_n, cum_won, starts = self._lists
        n, won = [], []
        for table, key, day in queries:
            code = self.codes[table].get(key, -1)
            if code < 0:
                n.append(0)
                won.append(0)
                continue
            position = bisect.bisect_right(composite, code * DAY_SPAN + day)
            start = starts[code]
            n.append(cum_n[position] - cum_n[start])
            won.append(cum_won[position] - cum_won[start])
        return n, won


class FastFeatures:
    """The features of a fitted :class:`PointInTimeFeatures`, computed with dicts and numpy.

    ``known_agents`` and ``known_products`` are the values the model was fitted
    with, plus the product column's spellings of ``ml.data.schema.QUIRKS``.
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
        self.history = _Histories(fitted.history_)
        self.history_days = fitted.history_["global"].composite % DAY_SPAN
        self.names = [*CATEGORICAL, *NUMERIC]

    @functools.cached_property
    def known_agents(self) -> frozenset[str]:
        """The sales agents the fitted features know."""
        return frozenset(self.agents)

    @functools.cached_property
    def known_products(self) -> frozenset[str]:
        """The products the fitted features know, with the misspellings they correct."""
        spellings = (q for q, canonical in PRODUCT_FIXES.items() if canonical in self.products)
        return frozenset(self.products) | frozenset(spellings)

    def transform(self, rows: RawRows) -> tuple[list[list[object]], np.ndarray]:
        """(categorical values per column in ``CATEGORICAL`` order, numeric matrix
        (rows x ``NUMERIC``)), equal to what the fitted transformer computes."""
        if len(rows.product) == 1:
            return self._transform_one(rows)
        products = [PRODUCT_FIXES.get(p, p) for p in rows.product]
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
        reference = self._reference(rows, product, account)
        numeric = np.concatenate([reference, self._history(keys, rows.as_of_days)]).T
        return categorical, numeric

    @staticmethod
    def _reference(rows: RawRows, product: list, account: list) -> np.ndarray:
        price = np.array([p[1] for p in product], dtype=float)
        attrs = np.array([a[1:] for a in account], dtype=float).reshape(len(account), 4)
        as_of = rows.as_of_days.astype("datetime64[D]")
        engaged = rows.engage_days
        engaged_dates = np.where(np.isnan(engaged), 0, engaged).astype("datetime64[D]")
        year = as_of.astype("datetime64[Y]").astype(float) + 1970.0
        month = (engaged_dates.astype("datetime64[M]").astype(int) % 12 + 1).astype(float)
        missing = np.isnan(engaged)
        return np.array(
            [
                np.array([a is not None for a in rows.account], dtype=float),
                np.log1p(price),
                np.log1p(attrs[:, 0]),
                np.log1p(attrs[:, 1]),
                year - attrs[:, 2],
                attrs[:, 3],
                np.where(missing, _NAN, rows.as_of_days - engaged),
                np.where(missing, _NAN, month),
            ]
        )

    def _history(self, keys: dict[str, list], days: np.ndarray) -> np.ndarray:
        agents = keys["sales_agent"]
        queries = [("global", ["all"] * len(days), days)]
        queries += [(key, keys[key], days) for key in HISTORY_KEYS]
        queries.append(("sales_agent", agents, days - RECENT_DAYS))
        n, w = self.history.lookup(queries)
        prior = np.where(n[0] > 0, (w[0] + 1.0) / (n[0] + 2.0), 0.5)
        m = self.prior_weight
        keyed = slice(1, 1 + len(HISTORY_KEYS))
        rates = (w[keyed] + m * prior) / (n[keyed] + m)
        agent = 1 + HISTORY_KEYS.index("sales_agent")
        recent = ((w[agent] - w[-1]) + m * prior) / ((n[agent] - n[-1]) + m)
        head = np.array([prior, np.log1p(n[0])])
        return np.concatenate([head, rates, np.log1p(n[keyed]), recent[None, :]])

    def _transform_one(self, rows: RawRows) -> tuple[list[list[object]], np.ndarray]:
        """:meth:`transform` of a single row in plain Python: one request's row costs
        about forty numpy calls' overhead otherwise, several times the arithmetic."""
        agent_name, account_name = rows.sales_agent[0], rows.account[0]
        product_name = PRODUCT_FIXES.get(rows.product[0], rows.product[0])
        manager, office = self.agents.get(agent_name, (None, None))
        series, price = self.products.get(product_name, (None, _NAN))
        sector, revenue, employees, established, subsidiary = self.accounts.get(
            account_name, (None, _NAN, _NAN, _NAN, _NAN)
        )
        keys = {"sales_agent": agent_name, "manager": manager, "regional_office": office,
                "product": product_name, "series": series, "sector": sector,
                "account": account_name}  # fmt: skip
        as_of, engaged = int(rows.as_of_days[0]), float(rows.engage_days[0])
        year = float(_day(as_of).year)
        open_days, month = (
            (_NAN, _NAN) if math.isnan(engaged) else (as_of - engaged, float(_day(engaged).month))
        )
        reference = [float(account_name is not None), _log1p(price), _log1p(revenue),
                     _log1p(employees), year - established, subsidiary, open_days, month]  # fmt: skip
        numeric = np.array([[*reference, *self._history_one(keys, as_of)]])
        return [[keys[c]] for c in CATEGORICAL], numeric

    def _history_one(self, keys: dict[str, Any], day: int) -> list[float]:
        queries = [("global", "all", day), *((k, keys[k], day) for k in HISTORY_KEYS)]
        queries.append(("sales_agent", keys["sales_agent"], day - RECENT_DAYS))
        n, w = self.history.lookup_row(queries)
        prior = (w[0] + 1.0) / (n[0] + 2.0) if n[0] > 0 else 0.5
        m = self.prior_weight
        keyed = range(1, 1 + len(HISTORY_KEYS))
        agent = 1 + HISTORY_KEYS.index("sales_agent")
        recent = ((w[agent] - w[-1]) + m * prior) / ((n[agent] - n[-1]) + m)
        return [prior, math.log1p(n[0]), *((w[i] + m * prior) / (n[i] + m) for i in keyed),
                *(math.log1p(n[i]) for i in keyed), recent]  # fmt: skip


def _day(days: float) -> date:
    """The date ``days`` after 1970-01-01."""
    return date.fromordinal(_EPOCH_ORDINAL + int(days))


def _log1p(value: float) -> float:
    """``numpy.log1p`` of one float: -inf at -1, NaN below it and for NaN, never raising."""
    if value > -1.0:
        return math.log1p(value)
    return -math.inf if value == -1.0 else _NAN
