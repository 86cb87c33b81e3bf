"""Reconcile the known quirks of the original files (``GTXPro``, ``technolgy``)."""

from __future__ import annotations

import pandas as pd

from ml.data import schema as s


def reconcile(tables: dict[str, pd.DataFrame]) -> list[dict[str, object]]:
    """Rewrite quirky values to their canonical form in place; report each rewrite.

    Returns one entry per quirk found: table, column, from, to and row count.
    """
    report = []
    for table, column, quirk, canonical in s.QUIRKS:
        if table not in tables:
            continue
        frame = tables[table]
        hits = frame[column] == quirk
        count = int(hits.sum())
        if count:
            frame.loc[hits, column] = canonical
            report.append(
                {"table": table, "column": column, "from": quirk, "to": canonical, "rows": count}
            )
    return report
