"""Validate raw files: quarantine bad rows with reasons, score the quality, gate on it.

Quality score (0..1)::

    score = clean sales_pipeline rows / all sales_pipeline rows
    score = 0 when a required file or column is missing (nothing can be trusted)

A pipeline row is clean when it passes every check: parsing (dates, numbers),
types and allowed values, the business rules of ``ml.validation.rules``,
duplicates, and referential integrity against the *clean* accounts, products
and sales teams, so a bad reference row also costs the pipeline rows using it.
The report lists, per table and per check, the failing rows and the pass rate.
Quirks of the original files are reconciled first and reported, not counted
as failures. The report also says how each file was read: its delimiter and
byte-order mark (``dialects``) and the format detected per date column
(``dates``); a date column whose format is ambiguous is structural.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pandera.pandas as pa

from ml.data import schema as s
from ml.validation.quirks import reconcile
from ml.validation.rules import REFERENCE_SCHEMAS, pipeline_schema
from ml.validation.tables import parse_files

FORMULA = (
    "clean sales_pipeline rows / all sales_pipeline rows; "
    "0 when a required file or column is missing"
)


class QualityGateError(RuntimeError):
    """The data's quality score is below the threshold; ``report`` says why."""

    def __init__(self, report: dict[str, Any], evidence: str | None = None) -> None:
        worst = _worst_checks(report)
        where = f"; the quality report and the quarantine are in {evidence}" if evidence else ""
        super().__init__(
            f"data quality {report['score']:.3f} is below the threshold "
            f"{report['threshold']:.3f}; {worst}{where}"
        )
        self.report = report
        self.evidence = evidence

    def __reduce__(self) -> tuple[type, tuple[dict[str, Any], str | None]]:
        # rebuilt from the report, not the message, wherever it is unpickled
        return type(self), (self.report, self.evidence)


@dataclass
class ValidationResult:
    """Clean typed tables, quarantined rows with reasons, and the quality report."""

    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    report: dict[str, Any]

    def gate(self, evidence: str | None = None) -> None:
        """Raise :class:`QualityGateError` when the score is below the threshold;
        ``evidence`` (where the report was written) is named in its message."""
        if not self.report["passed"]:
            raise QualityGateError(self.report, evidence)


def validate_files(files: dict[str, bytes], threshold: float = 0.95) -> ValidationResult:
    """Validate the raw CSV ``files`` (``<table>.csv`` -> bytes); never drops a row silently:
    every row removed from a table is in the quarantine with its reasons."""
    parsed = parse_files(files)
    quirks = reconcile(parsed.typed)
    reconcile(parsed.raw)
    clean: dict[str, pd.DataFrame] = {}
    failures: dict[str, pd.DataFrame] = {}
    for table, schema in REFERENCE_SCHEMAS.items():
        if table in parsed.typed:
            failures[table] = _failures(schema, parsed.typed[table], parsed.parse_problems[table])
            clean[table] = parsed.typed[table][~failures[table].any(axis=1)]
    if s.PIPELINE in parsed.typed:
        schema = pipeline_schema(clean.get(s.ACCOUNTS), clean.get(s.PRODUCTS), clean.get(s.TEAMS))
        typed = parsed.typed[s.PIPELINE]
        failures[s.PIPELINE] = _failures(schema, typed, parsed.parse_problems[s.PIPELINE])
        clean[s.PIPELINE] = typed[~failures[s.PIPELINE].any(axis=1)]
    quarantine = _quarantine(parsed.raw, failures)
    report = _report(parsed.raw, failures, quirks, parsed.structural, threshold)
    report["dialects"], report["dates"] = parsed.dialects, parsed.dates
    report["reading"] = _reading_notes(parsed.dialects, parsed.dates)
    return ValidationResult(
        {k: v.reset_index(drop=True) for k, v in clean.items()}, quarantine, report
    )


def _failures(schema: pa.DataFrameSchema, typed: pd.DataFrame, parse: pd.DataFrame) -> pd.DataFrame:
    """A boolean frame, one column per failed check: True where the row fails it."""
    result = parse.copy()
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.dropna(subset=["index"])
        wide = cases["schema_context"] == "DataFrameSchema"
        cases = cases.assign(
            label=cases["check"]
            .astype(str)
            .where(wide, cases["column"].astype(str) + ": " + cases["check"].astype(str))
        )
        for label, group in cases.groupby("label", sort=False):
            rows = pd.Index(group["index"].astype(int).unique())
            flags = pd.Series(False, index=typed.index)
            flags.loc[rows.intersection(typed.index)] = True
            result[label] = result[label] | flags if label in result else flags
    return result.loc[:, result.any(axis=0)] if len(result.columns) else result


def _quarantine(raw: dict[str, pd.DataFrame], failures: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = []
    for table, flags in failures.items():
        bad = flags.any(axis=1) if len(flags.columns) else pd.Series(False, index=flags.index)
        if not bad.any():
            continue
        reasons = flags[bad].apply(lambda row: "; ".join(row.index[row.to_numpy()]), axis=1)
        rows = raw[table][bad]
        parts.append(
            pd.DataFrame(
                {
                    "table": table,
                    "row": rows.index.to_numpy(),
                    "reasons": reasons.to_numpy(),
                    "record": rows.astype(str).to_json(orient="records", lines=True).splitlines(),
                }
            )
        )
    if not parts:
        return pd.DataFrame({"table": [], "row": [], "reasons": [], "record": []}).astype(
            {"table": str, "row": int, "reasons": str, "record": str}
        )
    return pd.concat(parts, ignore_index=True)


def _report(
    raw: dict[str, pd.DataFrame],
    failures: dict[str, pd.DataFrame],
    quirks: list[dict[str, object]],
    structural: list[str],
    threshold: float,
) -> dict[str, Any]:
    rows = {t: len(f) for t, f in raw.items()}
    bad = {t: int(f.any(axis=1).sum()) if len(f.columns) else 0 for t, f in failures.items()}
    checks = {
        table: {
            label: {
                "failed_rows": int(flags[label].sum()),
                "pass_rate": round(1 - flags[label].mean(), 6) if len(flags) else 1.0,
            }
            for label in flags.columns
        }
        for table, flags in failures.items()
    }
    total = rows.get(s.PIPELINE, 0)
    score = 0.0 if structural or not total else (total - bad[s.PIPELINE]) / total
    return {
        "score": round(score, 6),
        "threshold": threshold,
        "passed": score >= threshold,
        "formula": FORMULA,
        "rows": rows,
        "quarantined_rows": bad,
        "clean_rows": {t: rows[t] - bad.get(t, 0) for t in rows},
        "checks": checks,
        "quirks": quirks,
        "structural": structural,
    }


def _reading_notes(
    dialects: dict[str, dict[str, Any]], formats: dict[str, dict[str, Any]]
) -> list[str]:
    """One sentence per way a file was read that differs from the original files."""
    names = {";": "semicolon", "\t": "tab", "|": "pipe"}
    notes = [
        f"{name}: {names[d['delimiter']]}-separated (read as such)"
        for name, d in dialects.items()
        if d["delimiter"] != ","
    ]
    notes += [f"{name}: starts with a UTF-8 byte-order mark" for name, d in dialects.items()
              if d["byte_order_mark"]]  # fmt: skip
    notes += [
        f"{name}: {column} read as {found['format']}"
        for name, columns in formats.items()
        for column, found in columns.items()
        if found["format"] not in (None, "YYYY-MM-DD")
    ]
    return notes


def _worst_checks(report: dict[str, Any]) -> str:
    """Why the score is low, in one clause: structural problems, an empty
    ``sales_pipeline`` table, or the checks that failed the most rows."""
    if report["structural"]:
        return "structural problems: " + "; ".join(report["structural"])
    if not report["rows"].get(s.PIPELINE, 0):
        return f"{s.PIPELINE} has no rows (a header line alone, or nothing)"
    found = [
        (v["failed_rows"], f"{t}: {label}")
        for t, checks in report["checks"].items()
        for label, v in checks.items()
        if v["failed_rows"]
    ]
    top = sorted(found, reverse=True)[:3]
    return "most failing checks: " + ", ".join(f"{name} ({n} rows)" for n, name in top)
