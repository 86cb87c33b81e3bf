"""Batch scoring of a CSV of opportunities: rows are checked here first (against the
agents and products of the served model's training data, when known), valid rows
are sent in chunks, and a chunk the service refuses is retried row by row so each
bad row gets its own message while the others are still scored."""

from __future__ import annotations

import csv
import io
from typing import Any

import pandas as pd

from ml.features.transformer import PRODUCT_FIXES
from workloads.app.serving import DATE_FIELDS, OPPORTUNITY_FIELDS, Rejected, ServingClient

REQUIRED = (*OPPORTUNITY_FIELDS, "engage_date")
CHUNK = 200


class BatchFileError(ValueError):
    """The file itself cannot be scored (not CSV, required columns missing)."""


def read_batch(data: bytes) -> pd.DataFrame:
    """The uploaded CSV as strings, indexed by each row's line in the file (``line``:
    the header is line 1, so the first row is line 2); raises BatchFileError naming
    what is wrong."""
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchFileError(f"not a readable CSV file: {exc}") from None
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise BatchFileError(
            f"missing columns: {', '.join(missing)}; required: {', '.join(REQUIRED)}"
        )
    if frame.empty:
        raise BatchFileError("no rows under the header")
    lines = record_lines(data)
    # the reader and pandas agree on what a row is unless the file is unusual; row
    # order then still names the row
    frame.index = pd.Index(lines if len(lines) == len(frame) else range(2, len(frame) + 2))
    frame.index.name = "line"
    return frame


def record_lines(data: bytes) -> list[int]:
    """The line each data row of CSV ``data`` starts on (1-based; blank lines are
    skipped, as pandas skips them; a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig", errors="replace"), newline=""))
    starts, start = [], 1
    for record in reader:
        if record:
            starts.append(start)
        start = reader.line_num + 1
    return starts[1:]  # the header's line is not a row


def row_error(row: dict[str, Any], choices: dict[str, list[str]] | None = None) -> str | None:
    """Why a row cannot be sent, or None; ``choices`` are the served model's known
    agents and products (``workloads.app.choices``)."""
    if not row.get("opportunity_id", "").strip():
        return "opportunity_id is empty"
    if choices:
        agent, product = row.get("sales_agent", "").strip(), row.get("product", "").strip()
        if agent not in choices["agents"]:
            return f"sales_agent '{agent}' is not an agent the served model was trained with"
        if PRODUCT_FIXES.get(product, product) not in choices["products"]:
            return f"product '{product}' is not one of {', '.join(choices['products'])}"
    for field in DATE_FIELDS:
        value = row.get(field, "").strip()
        if value and pd.isna(pd.to_datetime(value, errors="coerce", format="%Y-%m-%d")):
            return f"{field} '{value}' is not a date (YYYY-MM-DD)"
    return None


def template(choices: dict[str, list[str]] | None, as_of: str) -> bytes:
    """A one-row CSV of the columns the batch takes, filled with values the served
    model knows (placeholders when its training data is not known)."""
    agent = choices["agents"][0] if choices else "<sales agent>"
    product = choices["products"][0] if choices else "<product>"
    row = {"opportunity_id": "NEW-0001", "sales_agent": agent, "product": product,
           "account": "", "deal_stage": "Engaging", "engage_date": as_of, "as_of_date": as_of}  # fmt: skip
    return pd.DataFrame([row]).to_csv(index=False).encode()


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


def score_batch(
    client: ServingClient, frame: pd.DataFrame, choices: dict[str, list[str]] | None = None
) -> pd.DataFrame:
    """``frame`` with ``win_probability``, ``model_version`` and ``error`` per row.

    Raises ServiceDown when the service is unreachable (nothing is half-scored silently).
    """
    records = [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
    results: list[dict[str, Any]] = [{"error": row_error(r, choices)} for r in records]
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
