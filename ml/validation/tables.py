"""Read raw CSV bytes into typed tables, remembering every value that would not parse.

Files come as users' tools save them: a UTF-8 byte-order mark, a ``;`` (or tab
or ``|``) delimiter from a European-locale spreadsheet, decimal commas in such
files, dates in another unambiguous format. The dialect is sniffed from the
header (the delimiter that yields the table's columns), the date format is
detected per column (:mod:`ml.validation.dates`), and both are recorded so
the quality report says how each file was read.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ml.data import schema as s
from ml.validation import dates

_NUMERIC = {
    s.PIPELINE: ("close_value",),
    s.ACCOUNTS: ("year_established", "revenue", "employees"),
    s.PRODUCTS: ("sales_price",),
}
DELIMITERS = (",", ";", "\t", "|")
_BOM = b"\xef\xbb\xbf"
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


@dataclass
class ParsedTables:
    """Raw string tables, their typed versions, per-row parse problems, and how each
    file was read (``dialects``: delimiter and byte-order mark; ``dates``: the format
    detected per date column)."""

    raw: dict[str, pd.DataFrame] = field(default_factory=dict)
    typed: dict[str, pd.DataFrame] = field(default_factory=dict)
    parse_problems: dict[str, pd.DataFrame] = field(default_factory=dict)
    structural: list[str] = field(default_factory=list)
    dialects: dict[str, dict[str, Any]] = field(default_factory=dict)
    dates: dict[str, dict[str, Any]] = field(default_factory=dict)


def sniff_delimiter(data: bytes, expected: tuple[str, ...] = ()) -> str:
    """The delimiter of the CSV ``data``: the one whose split of the header line holds
    the most ``expected`` column names (with none expected, the most fields)."""
    header = data.removeprefix(_BOM).split(b"\n", 1)[0].decode("utf-8", "replace").strip()

    def score(delimiter: str) -> tuple[int, int]:
        names = [n.strip().strip('"') for n in header.split(delimiter)]
        return sum(n in expected for n in names), len(names)

    return max(DELIMITERS, key=score)


def read_csv_strings(data: bytes, delimiter: str = ",") -> pd.DataFrame:
    """A CSV as strings; blank cells become missing (NaN), nothing else is guessed.
    A UTF-8 byte-order mark is dropped."""
    return pd.read_csv(
        io.BytesIO(data.removeprefix(_BOM)),
        sep=delimiter,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
    )


def parse_files(files: dict[str, bytes]) -> ParsedTables:
    """Parse the required tables of ``files``; a missing file or column, or an ambiguous
    date column, is structural."""
    parsed = ParsedTables()
    for table in s.TABLES:
        name = f"{table}.csv"
        data = files.get(name)
        if data is None:
            parsed.structural.append(f"{name}: file missing")
            continue
        delimiter = sniff_delimiter(data, s.COLUMNS[table])
        parsed.dialects[name] = {"delimiter": delimiter, "byte_order_mark": data.startswith(_BOM)}
        frame = read_csv_strings(data, delimiter)
        missing = [c for c in s.COLUMNS[table] if c not in frame.columns]
        if missing:
            parsed.structural.append(f"{name}: missing columns {', '.join(missing)}")
            continue
        raw = frame[list(s.COLUMNS[table])].copy()
        typed, problems = _typed(table, raw, decimal_comma=delimiter != ",")
        if table == s.PIPELINE:
            parsed.dates[name] = _dates(raw, typed, problems, parsed.structural)
        parsed.raw[table], parsed.typed[table], parsed.parse_problems[table] = raw, typed, problems
    return parsed


def _number(values: pd.Series, decimal_comma: bool) -> pd.Series:
    if decimal_comma:  # "812,5" from a European-locale export is 812.5
        values = values.where(~values.str.match(_DECIMAL_COMMA, na=False),
                              values.str.replace(",", ".", regex=False))  # fmt: skip
    return pd.to_numeric(values, errors="coerce")


def _typed(
    table: str, raw: pd.DataFrame, *, decimal_comma: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed copy of ``raw`` and a boolean frame: True where a present value did not parse."""
    typed = raw.copy()
    problems = pd.DataFrame(index=raw.index)
    for column in _NUMERIC.get(table, ()):
        typed[column] = _number(raw[column], decimal_comma)
        problems[f"{column}: not a number"] = typed[column].isna() & raw[column].notna()
    return typed, problems


def _dates(
    raw: pd.DataFrame, typed: pd.DataFrame, problems: pd.DataFrame, structural: list[str]
) -> dict[str, Any]:
    """Detect and parse the pipeline's date columns in place; returns the detections.

    A file writes all its dates one way, so a column that fits several formats
    takes the one another date column was read with; still ambiguous, it is refused.
    """
    found = {c: dates.detect(raw[c]) for c in s.DATE_COLUMNS}
    chosen = {d.format for d in found.values() if d.format}
    prefer = next(iter(chosen)) if len(chosen) == 1 else None
    found = {c: d if d.format else dates.detect(raw[c], prefer) for c, d in found.items()}
    for column, detection in found.items():
        if detection.ambiguous:
            structural.append(
                f"{s.PIPELINE}.csv: {column} is ambiguous: its dates fit "
                f"{' and '.join(detection.fits)}; write them as {dates.ISO}"
            )
        name = detection.format or (detection.fits[0] if detection.fits else dates.ISO)
        typed[column] = dates.parse(raw[column], name)
        problems[f"{column}: not a date ({name})"] = typed[column].isna() & raw[column].notna()
    return {c: d.as_dict() for c, d in found.items()}
