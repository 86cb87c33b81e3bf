"""Segments: drift and performance per regional office, manager and product series.

A deal's segments come from the champion's training tables: the sales agent's
manager and regional office (``sales_teams``) and the product's series
(``products``); an agent or product those tables do not know is "(unknown)".

A segment figure is judged only when it rests on at least ``min_size`` rows (the
month's and the reference's rows of the segment for drift; its closed deals for
realised performance). Below that it is marked ``too_small`` and flags nothing: a
handful of deals moves any statistic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml.data import schema as s
from workloads.monitoring.columns import CATEGORICAL, computable_columns

DIMENSIONS = ("regional_office", "manager", "series")
UNKNOWN = "(unknown)"


@dataclass(frozen=True)
class SegmentLookup:
    """Which manager, office and series a deal belongs to, by agent and product."""

    managers: dict[str, str]
    offices: dict[str, str]
    series: dict[str, str]

    @classmethod
    def from_tables(cls, teams: pd.DataFrame, products: pd.DataFrame) -> SegmentLookup:
        """From the ``sales_teams`` and ``products`` tables (known spelling quirks fixed)."""
        fixes = {
            quirk: canonical for _t, column, quirk, canonical in s.QUIRKS if column == "product"
        }
        names = products["product"].astype(str).replace(fixes)
        return cls(
            managers=dict(zip(teams["sales_agent"], teams["manager"], strict=True)),
            offices=dict(zip(teams["sales_agent"], teams["regional_office"], strict=True)),
            series=dict(zip(names, products["series"], strict=True)),
        )

    def as_dict(self) -> dict[str, dict[str, str]]:
        """The lookup as stored: ``managers`` and ``offices`` by agent, ``series`` by product."""
        return {"managers": self.managers, "offices": self.offices, "series": self.series}

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, str]]) -> SegmentLookup:
        """The lookup :meth:`as_dict` stored; raises KeyError when a key is missing."""
        return cls(data["managers"], data["offices"], data["series"])

    def label(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` (with ``sales_agent`` and ``product``) plus the three segment columns."""
        agents, products = rows["sales_agent"].astype(str), rows["product"].astype(str)
        return rows.assign(
            regional_office=agents.map(self.offices).fillna(UNKNOWN).to_numpy(),
            manager=agents.map(self.managers).fillna(UNKNOWN).to_numpy(),
            series=products.map(self.series).fillna(UNKNOWN).to_numpy(),
        )


def column_drift(reference: pd.Series, current: pd.Series, categorical: bool) -> tuple[float, bool]:
    """(score, drifted) of one column by the test Evidently picks for it (chi-square or
    K-S p-values up to 1,000 reference rows, Jensen-Shannon or Wasserstein distances
    above), at Evidently's default threshold."""
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    kind = ColumnType.Categorical if categorical else ColumnType.Numerical
    before, now = reference.dropna(), current.dropna()
    if not categorical:
        before, now = before.astype(float), now.astype(float)
    test = get_stattest(before, now, kind, None)
    with np.errstate(divide="ignore", invalid="ignore"):  # a category absent on one side
        result = test(before, now, kind, None)
    return float(result.drift_score), bool(result.drifted)


def _judge(current: pd.DataFrame, reference: pd.DataFrame, threshold: float) -> dict[str, Any]:
    columns, skipped = computable_columns(current, reference)
    drifted = [c for c in columns if column_drift(reference[c], current[c], c in CATEGORICAL)[1]]
    share = len(drifted) / len(columns) if columns else None
    return {
        "share": None if share is None else round(share, 6),
        "drifted_columns": drifted,
        "not_computable": sorted(skipped),
        "flagged": share is not None and share >= threshold,
    }


def segment_drift(
    current: pd.DataFrame, reference: pd.DataFrame, threshold: float, min_size: int
) -> list[dict[str, Any]]:
    """Drift per segment of the month's monitored frame against the same segment of the
    reference (both labelled with :meth:`SegmentLookup.label`). A segment is ``flagged``
    when its share of drifted columns reaches ``threshold``."""
    found = []
    for dimension in DIMENSIONS:
        before_parts = dict(list(reference.groupby(dimension, sort=False)))
        for segment, now in sorted(
            current.groupby(dimension, sort=False), key=lambda kv: str(kv[0])
        ):
            before = before_parts.get(segment, reference.iloc[0:0])
            entry: dict[str, Any] = {
                "dimension": dimension,
                "segment": str(segment),
                "rows": len(now),
                "reference_rows": len(before),
                "too_small": min(len(now), len(before)) < min_size,
            }
            if entry["too_small"]:
                entry.update(share=None, drifted_columns=[], not_computable=[], flagged=False)
            else:
                entry.update(_judge(now, before, threshold))
            found.append(entry)
    return found


def flagged(entries: list[dict[str, Any]]) -> list[str]:
    """``dimension=segment`` of every flagged entry, in order."""
    return [f"{e['dimension']}={e['segment']}" for e in entries if e.get("flagged")]
