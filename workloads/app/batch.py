"""Batch scoring of a CSV of opportunities: rows are checked here first, valid rows are
sent in chunks, and a chunk the service refuses is retried row by row so each bad
row gets its own message while the others are still scored."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from workloads.app.serving import DATE_FIELDS, OPPORTUNITY_FIELDS, Rejected, ServingClient

REQUIRED = (*OPPORTUNITY_FIELDS, "engage_date")
CHUNK = 200


class BatchFileError(ValueError):
    """The file itself cannot be scored (not CSV, required columns missing)."""


def read_batch(data: bytes) -> pd.DataFrame:
    """The uploaded CSV as strings; raises BatchFileError naming what is wrong."""
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchFileError(f"not a readable CSV file: {exc}") from None
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise BatchFileError(
            f"missing columns: {', '.join(missing)}; required: {', '.join(REQUIRED)}"
        )
    return frame


def row_error(row: dict[str, str]) -> str | None:
    """Why a row cannot be sent, or None."""
    if not row.get("opportunity_id", "").strip():
        return "opportunity_id is empty"
    for field in DATE_FIELDS:
        value = row.get(field, "").strip()
        if value and pd.isna(pd.to_datetime(value, errors="coerce", format="%Y-%m-%d")):
            return f"{field} '{value}' is not a date (YYYY-MM-DD)"
    return None


def payload(row: dict[str, str]) -> dict[str, Any]:
    """A row as the service expects it: empty optional fields become null."""
    fields = [*OPPORTUNITY_FIELDS, *DATE_FIELDS]
    return {f: (row.get(f, "").strip() or None) for f in fields if f in row or f in REQUIRED}


def _score(client: ServingClient, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Scores ``rows``; a refused chunk is retried one row at a time."""
    try:
        answer = client.predict([payload(r) for r in rows])
    except Rejected as exc:
        if len(rows) == 1:
            return [{"error": str(exc)}]
        return [result for row in rows for result in _score(client, [row])]
    version = answer["model"]["version"]
    return [
        {"win_probability": p["win_probability"], "model_version": version, "error": ""}
        for p in answer["predictions"]
    ]


def score_batch(client: ServingClient, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``win_probability``, ``model_version`` and ``error`` per row.

    Raises ServiceDown when the service is unreachable (nothing is half-scored silently).
    """
    records = frame.to_dict("records")
    results: list[dict[str, Any]] = [{"error": row_error(r)} for r in records]
    valid = [i for i, r in enumerate(results) if not r["error"]]
    for start in range(0, len(valid), CHUNK):
        chunk = valid[start : start + CHUNK]
        for index, scored in zip(chunk, _score(client, [records[i] for i in chunk]), strict=True):
            results[index] = scored
    out = frame.copy()
    for column in ("win_probability", "model_version", "error"):
        out[column] = [r.get(column) for r in results]
    out["error"] = out["error"].fillna("")
    return out
