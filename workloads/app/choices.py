"""Choices for the prediction form from the reference data in storage: the accounts,
products and sales agents of the latest acquired raw data (``CRM_DATA_URL``)."""

from __future__ import annotations

import io

import pandas as pd

from ml.data import schema as s
from ml.data.acquire import latest_version, read_raw

_FIXES = {quirk: canonical for _t, _c, quirk, canonical in s.QUIRKS}


def reference_choices(data_url: str) -> dict[str, list[str]]:
    """``{"accounts": [...], "products": [...], "agents": [...]}``, sorted; raises
    FileNotFoundError or OSError when no data is stored."""
    files, _ = read_raw(data_url, latest_version(data_url))

    def column(table: str, name: str) -> list[str]:
        frame = pd.read_csv(io.BytesIO(files[f"{table}.csv"]), usecols=[name], dtype=str)
        values = frame[name].dropna().map(lambda v: _FIXES.get(v, v))
        return sorted(values.unique().tolist())

    return {
        "accounts": column(s.ACCOUNTS, "account"),
        "products": column(s.PRODUCTS, "product"),
        "agents": column(s.TEAMS, "sales_agent"),
    }
