"""Request bodies -> validated rows, or an :class:`InputError` naming row and field.

Errors follow FastAPI's 422 shape (``detail``: a list with ``loc``, ``msg``,
``type``) plus ``row`` and ``field`` on each item and a one-line ``message``.
A batch over the configured number of rows is refused with 413 before its rows
are read. MLflow's body shapes are read by :func:`invocation_records`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from workloads.serving.features import RawRows
from workloads.serving.schemas import Opportunity

_ROWS = TypeAdapter(list[Opportunity])
_EPOCH = date(1970, 1, 1).toordinal()


class InputError(Exception):
    """Bad input: ``status`` (422; 413 too large; 415 media type) and FastAPI-shaped
    ``detail`` items."""

    def __init__(self, status: int, detail: list[dict[str, Any]]) -> None:
        super().__init__(detail[0]["msg"] if detail else "bad input")
        self.status = status
        self.detail = detail

    def body(self) -> dict[str, Any]:
        """The 422/413/415 response body: ``message`` (the first problem, ``<field path>: <msg>``)
        and ``detail`` (every problem)."""
        first = self.detail[0]
        where = ".".join(str(p) for p in first["loc"][1:])
        message = f"{where}: {first['msg']}" if where else first["msg"]
        return {"message": message, "detail": self.detail}


def problem(loc: Sequence[Any], msg: str, kind: str, row: int | None = None) -> dict[str, Any]:
    """One FastAPI-shaped problem: ``loc``, ``msg``, ``type``, ``row`` (its index, or None) and
    ``field`` (the last name in ``loc``)."""
    field = next((p for p in reversed(loc[1:]) if isinstance(p, str)), None)
    return {"loc": list(loc), "msg": msg, "type": kind, "row": row, "field": field}


@dataclass(frozen=True)
class Batch:
    """Validated rows, ready for the scorer and the prediction log."""

    rows: list[Opportunity]
    raw: RawRows
    as_of: list[date]

    @property
    def opportunity_ids(self) -> list[str]:
        """The rows' opportunity ids, in order."""
        return [r.opportunity_id for r in self.rows]


def check_size(records: Any, where: list[Any], max_rows: int) -> list[Any]:
    """``records`` when it is a non-empty list of at most ``max_rows`` items."""
    if not isinstance(records, list):
        raise InputError(422, [problem(where, "must be a list of rows", "list_type")])
    if not records:
        raise InputError(422, [problem(where, "must hold at least one row", "too_short")])
    if len(records) > max_rows:
        msg = f"{len(records)} rows exceed the limit of {max_rows} per request"
        raise InputError(413, [problem(where, msg, "too_long")])
    return records


def validate_rows(
    records: list[Any], where: list[Any], agents: frozenset[str], products: frozenset[str]
) -> Batch:
    """Typed, checked rows; unknown agents or products and engage dates after the
    as-of date are refused. Raises InputError(422) listing every problem."""
    try:
        rows = _ROWS.validate_python(records)
    except ValidationError as exc:
        raise InputError(422, [_from_pydantic(e, where) for e in exc.errors()]) from None
    today = datetime.now(UTC).date()
    as_of = [r.as_of_date or today for r in rows]
    problems = [
        p for i, r in enumerate(rows) for p in _semantic(i, r, as_of[i], where, agents, products)
    ]
    if problems:
        raise InputError(422, problems)
    engage = [np.nan if r.engage_date is None else r.engage_date.toordinal() - _EPOCH for r in rows]
    raw = RawRows(
        sales_agent=[r.sales_agent for r in rows],
        product=[r.product for r in rows],
        account=[r.account for r in rows],
        engage_days=np.array(engage, dtype=float),
        as_of_days=np.array([d.toordinal() - _EPOCH for d in as_of], dtype=np.int64),
    )
    return Batch(rows, raw, as_of)


def _semantic(
    i: int,
    row: Opportunity,
    as_of: date,
    where: list[Any],
    agents: frozenset[str],
    products: frozenset[str],
) -> list[dict[str, Any]]:
    found = []
    if row.sales_agent not in agents:
        msg = f"unknown sales_agent {row.sales_agent!r}: the model knows {len(agents)} agents"
        found.append(problem([*where, i, "sales_agent"], msg, "unknown_value", i))
    if row.product not in products:
        msg = f"unknown product {row.product!r}; known: {', '.join(sorted(products))}"
        found.append(problem([*where, i, "product"], msg, "unknown_value", i))
    if row.engage_date is not None and row.engage_date > as_of:
        msg = f"engage_date {row.engage_date} is after as_of_date {as_of}"
        found.append(problem([*where, i, "engage_date"], msg, "date_order", i))
    return found


def _from_pydantic(error: Any, where: list[Any]) -> dict[str, Any]:
    loc = [*where, *error["loc"]]
    row = error["loc"][0] if error["loc"] and isinstance(error["loc"][0], int) else None
    return problem(loc, error["msg"], error["type"], row)


FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
"""The body keys of MLflow's scoring protocol; a body holds exactly one."""


def invocation_records(document: Any, max_rows: int) -> tuple[list[Any], list[Any]]:
    """The rows of an MLflow scoring body and where they sit (for error locations).

    Reads the shapes MLflow's scoring server reads for a DataFrame model:
    ``dataframe_split``, ``dataframe_records``, and ``instances`` / ``inputs``
    as a list of records or as an object of columns.
    """
    keys = [k for k in FORMATS if isinstance(document, dict) and k in document]
    if len(keys) != 1:
        found = f"; got {', '.join(keys)}" if keys else ""
        msg = f"expected a JSON object with exactly one of {', '.join(FORMATS)}{found}"
        raise InputError(422, [problem(["body"], msg, "format")])
    key = keys[0]
    where: list[Any] = ["body", key]
    if key == "dataframe_split":
        return split_records(document[key], max_rows), [*where, "data"]
    value = document[key]
    if key != "dataframe_records" and isinstance(value, dict):
        return column_records(value, where, max_rows), where
    return check_size(value, where, max_rows), where


def column_records(columns: dict[str, Any], where: list[Any], max_rows: int) -> list[Any]:
    """Rows of an object of columns: lists of one length, or scalars for one row."""
    if not columns:
        raise InputError(422, [problem(where, "must hold at least one column", "too_short")])
    if not any(isinstance(v, list) for v in columns.values()):
        return [columns]
    lengths = {name: len(v) if isinstance(v, list) else None for name, v in columns.items()}
    if len(set(lengths.values())) != 1:
        msg = f"every column must be a list of one length; lengths: {lengths}"
        raise InputError(422, [problem(where, msg, "column_shape")])
    rows = next(iter(columns.values()))
    check_size(rows, [*where, next(iter(columns))], max_rows)
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def split_records(split: Any, max_rows: int) -> list[dict[str, Any]]:
    """MLflow ``dataframe_split`` (``columns`` + ``data``) as records; the columns
    must be distinct names."""
    where = ["body", "dataframe_split"]
    columns = split.get("columns") if isinstance(split, dict) else None
    if not isinstance(columns, list):
        raise InputError(
            422, [problem([*where, "columns"], "must be a list of column names", "missing")]
        )
    for i, name in enumerate(columns):
        if not isinstance(name, str):
            msg = f"column names must be strings; got {type(name).__name__} {name!r}"
            raise InputError(422, [problem([*where, "columns", i], msg, "string_type")])
    if len(set(columns)) != len(columns):
        twice = sorted({c for c in columns if columns.count(c) > 1})
        msg = f"column names must be distinct; repeated: {', '.join(twice)}"
        raise InputError(422, [problem([*where, "columns"], msg, "duplicate")])
    data = check_size(split.get("data"), [*where, "data"], max_rows)
    records = []
    for i, values in enumerate(data):
        if not isinstance(values, list) or len(values) != len(columns):
            msg = f"must be a list of {len(columns)} values, one per column"
            raise InputError(422, [problem([*where, "data", i], msg, "row_shape", i)])
        records.append(dict(zip(columns, values, strict=True)))
    return records
