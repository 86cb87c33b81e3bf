"""Read raw CSV bytes into typed tables, remembering every value that would not parse."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pandas as pd

from ml.data import schema as s

_NUMERIC = {
    s.PIPELINE: ("close_value",),
    s.ACCOUNTS: ("year_established", "revenue", "employees"),
    s.PRODUCTS: ("sales_price",),
}


@dataclass
class ParsedTables:
    """Raw string tables, their typed versions, and per-row parse problems."""

    raw: dict[str, pd.DataFrame] = field(default_factory=dict)
    typed: dict[str, pd.DataFrame] = field(default_factory=dict)
    parse_problems: dict[str, pd.DataFrame] = field(default_factory=dict)
    structural: list[str] = field(default_factory=list)


def read_csv_strings(data: bytes) -> pd.DataFrame:
    """A CSV as strings; blank cells become missing (NaN), nothing else is guessed."""
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_values=[""])


def parse_files(files: dict[str, bytes]) -> ParsedTables:
    """Parse the required tables of ``files``; a missing file or column is structural."""
    parsed = ParsedTables()
    for table in s.TABLES:
        data = files.get(f"{table}.csv")
        if data is None:
            parsed.structural.append(f"{table}.csv: file missing")
            continue
        frame = read_csv_strings(data)
        missing = [c for c in s.COLUMNS[table] if c not in frame.columns]
        if missing:
            parsed.structural.append(f"{table}.csv: missing columns {', '.join(missing)}")
            continue
        raw = frame[list(s.COLUMNS[table])].copy()
        typed, problems = _typed(table, raw)
        parsed.raw[table], parsed.typed[table], parsed.parse_problems[table] = raw, typed, problems
    return parsed


def _typed(table: str, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed copy of ``raw`` and a boolean frame: True where a present value did not parse."""
    typed = raw.copy()
    problems = pd.DataFrame(index=raw.index)
    for column in _NUMERIC.get(table, ()):
        typed[column] = pd.to_numeric(raw[column], errors="coerce")
        problems[f"{column}: not a number"] = typed[column].isna() & raw[column].notna()
    if table == s.PIPELINE:
        for column in s.DATE_COLUMNS:
            typed[column] = pd.to_datetime(raw[column], format="%Y-%m-%d", errors="coerce")
            problems[f"{column}: not a date (YYYY-MM-DD)"] = (
                typed[column].isna() & raw[column].notna()
            )
    return typed, problems
