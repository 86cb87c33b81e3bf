"""The shape of the CRM Sales Opportunities dataset: files, columns, value domains.

These are facts of the published dataset (Maven Analytics, Kaggle
``innocentmfa/crm-sales-opportunities``); the generator and the validation both
read them from here so the two can never disagree.
"""

from __future__ import annotations

import pandas as pd

PIPELINE = "sales_pipeline"
ACCOUNTS = "accounts"
PRODUCTS = "products"
TEAMS = "sales_teams"
DICTIONARY = "data_dictionary"

TABLES: tuple[str, ...] = (PIPELINE, ACCOUNTS, PRODUCTS, TEAMS)
"""The tables the pipeline needs; the data dictionary is kept but optional."""

COLUMNS: dict[str, tuple[str, ...]] = {
    PIPELINE: (
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    ),
    ACCOUNTS: (
        "account",
        "sector",
        "year_established",
        "revenue",
        "employees",
        "office_location",
        "subsidiary_of",
    ),
    PRODUCTS: ("product", "series", "sales_price"),
    TEAMS: ("sales_agent", "manager", "regional_office"),
    DICTIONARY: ("Table", "Field", "Description"),
}

WON, LOST, ENGAGING, PROSPECTING = "Won", "Lost", "Engaging", "Prospecting"
STAGES: tuple[str, ...] = (WON, LOST, ENGAGING, PROSPECTING)
CLOSED_STAGES: tuple[str, ...] = (WON, LOST)
OPEN_STAGES: tuple[str, ...] = (ENGAGING, PROSPECTING)

STAGE_SHARES: dict[str, float] = {WON: 0.482, LOST: 0.281, ENGAGING: 0.181, PROSPECTING: 0.057}
CLOSED_WIN_RATE = 0.632

ENGAGE_START = pd.Timestamp("2016-10-20")
ENGAGE_END = pd.Timestamp("2017-12-27")
CLOSE_START = pd.Timestamp("2017-03-01")
CLOSE_END = pd.Timestamp("2017-12-31")
MAX_CYCLE_DAYS = 138
MEDIAN_CYCLE_DAYS = 45

PRODUCT_CATALOG: tuple[tuple[str, str, int], ...] = (
    ("GTX Basic", "GTX", 550),
    ("GTX Pro", "GTX", 4821),
    ("MG Special", "MG", 55),
    ("MG Advanced", "MG", 3393),
    ("GTX Plus Pro", "GTX", 5482),
    ("GTX Plus Basic", "GTX", 1096),
    ("GTK 500", "GTK", 26768),
)
SERIES: tuple[str, ...] = ("GTX", "MG", "GTK")
OFFICES: tuple[str, ...] = ("East", "West", "Central")
SECTORS: tuple[str, ...] = (
    "technology",
    "medical",
    "retail",
    "software",
    "finance",
    "marketing",
    "telecommunications",
    "entertainment",
    "employment",
    "services",
)

# Known quirks of the original files: (table, column, value in the file, canonical value).
QUIRKS: tuple[tuple[str, str, str, str], ...] = (
    (PIPELINE, "product", "GTXPro", "GTX Pro"),
    (ACCOUNTS, "sector", "technolgy", "technology"),
)


def quirk_fixes(column: str) -> dict[str, str]:
    """The quirk fixes of one column (``{"GTXPro": "GTX Pro"}`` for ``product``): a value
    fixed in one column is never a valid value of another."""
    return {quirk: canonical for _t, c, quirk, canonical in QUIRKS if c == column}


DATE_COLUMNS: tuple[str, ...] = ("engage_date", "close_date")
