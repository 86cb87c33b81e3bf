"""Date columns as files deliver them: ISO dates, or another unambiguous format (a
spreadsheet or BI export writes ``M/D/YYYY``), detected per column.

Detection works on the column's distinct values: each candidate format of
:data:`FORMATS` parses as many values as it can, and the format that parses the
most wins. Values no candidate reads (``2017-02-29``, ``not-a-date``) are
left missing, so validation quarantines their rows. When several formats read
equally many values and disagree on what they mean (``3/4/2017`` is March 4 or
April 3), the column is **ambiguous**: the caller refuses it, naming the column
and the formats that fit, instead of guessing. A time of day after the date
(``2017-01-09 00:00:00``) is dropped: the dataset's dates are days.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

FORMATS: dict[str, str] = {
    "YYYY-MM-DD": "%Y-%m-%d",
    "YYYY/MM/DD": "%Y/%m/%d",
    "M/D/YYYY": "%m/%d/%Y",
    "D/M/YYYY": "%d/%m/%Y",
    "D.M.YYYY": "%d.%m.%Y",
    "D-M-YYYY": "%d-%m-%Y",
    "M-D-YYYY": "%m-%d-%Y",
    "M/D/YY": "%m/%d/%y",
    "D/M/YY": "%d/%m/%y",
    "D.M.YY": "%d.%m.%y",
}
"""Candidate formats: the name the quality report shows -> the strptime pattern."""
ISO = "YYYY-MM-DD"
_TIME_OF_DAY = r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$"


@dataclass(frozen=True)
class DateDetection:
    """What one column holds: the chosen format (None when ambiguous or unreadable),
    every format that reads the most values, and how many values it reads."""

    format: str | None
    fits: list[str] = field(default_factory=list)
    parsed: int = 0
    values: int = 0

    @property
    def ambiguous(self) -> bool:
        """True when several formats read the same, largest number of values."""
        return self.format is None and len(self.fits) > 1

    def as_dict(self) -> dict[str, object]:
        """The detection as the quality report shows it: ``format``, ``fits``, ``parsed``,
        ``values``."""
        return {"format": self.format, "fits": self.fits, "parsed": self.parsed,
                "values": self.values}  # fmt: skip


def _days(values: pd.Index) -> pd.Index:
    return values.str.strip().str.replace(_TIME_OF_DAY, "", regex=True)


def _parse_distinct(values: pd.Index, pattern: str) -> pd.Series:
    """``values`` (distinct strings) parsed with ``pattern``; NaT where it does not read."""
    parsed = pd.to_datetime(_days(values), format=pattern, errors="coerce")
    return pd.Series(parsed, index=values)


def detect(column: pd.Series, prefer: str | None = None) -> DateDetection:
    """The format of the strings in ``column`` (missing values ignored).

    ``prefer`` settles a tie between formats that fit equally well (the format
    another date column of the same file uses). Never raises.
    """
    counts = column.dropna().astype(str).value_counts()
    if counts.empty:
        return DateDetection(ISO, [ISO], 0, 0)
    total = int(counts.sum())
    readings = {name: _parse_distinct(counts.index, p) for name, p in FORMATS.items()}
    read = {name: int(counts[r.notna().to_numpy()].sum()) for name, r in readings.items()}
    best = max(read.values())
    if best == 0:
        return DateDetection(None, [], 0, total)
    fits = [name for name, n in read.items() if n == best]
    # NaT compares unequal to itself: compare the readings as integers
    distinct = {readings[name].to_numpy().view("int64").tobytes() for name in fits}
    if len(distinct) == 1:  # every fitting format means the same days: no real choice
        chosen = prefer if prefer in fits else fits[0]
        return DateDetection(chosen, fits, best, total)
    if prefer in fits:
        return DateDetection(prefer, fits, best, total)
    return DateDetection(None, fits, best, total)


def parse(column: pd.Series, name: str) -> pd.Series:
    """``column``'s strings as datetimes in format ``name`` (a key of :data:`FORMATS`);
    missing or unreadable values become NaT."""
    present = column.dropna().astype(str)
    if present.empty:
        return pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]")
    distinct = pd.Index(present.unique())
    lookup = _parse_distinct(distinct, FORMATS[name])
    out = pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]")
    out.loc[present.index] = present.map(lookup).to_numpy()
    return out
