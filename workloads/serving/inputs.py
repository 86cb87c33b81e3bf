"""Request bodies -> validated rows, or an :class:`InputError` naming row and field.

Errors follow FastAPI's 422 shape (``detail``: a list with ``loc``, ``msg``,
``type``) plus ``row`` and ``field`` on each item and a one-line ``message``.
A batch over the configured size is refused with 413 before its rows are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import orjson
from pydantic import TypeAdapter, ValidationError

from workloads.serving.features import RawRows
from workloads.serving.schemas import Opportunity

_ROWS = TypeAdapter(list[Opportunity])
_EPOCH = date(1970, 1, 1).toordinal()


class InputError(Exception):
    """Bad input: ``status`` (422 or 413) and FastAPI-shaped ``detail`` items."""

    def __init__(self, status: int, detail: list[dict[str, Any]]) -> None:
        super().__init__(detail[0]["msg"] if detail else "bad input")
        self.status = status
        self.detail = detail

    def body(self) -> dict[str, Any]:
        first = self.detail[0]
        where = ".".join(str(p) for p in first["loc"][1:])
        return {"message": f"{where}: {first['msg']}", "detail": self.detail}


def _problem(loc: Sequence[Any], msg: str, kind: str, row: int | None = None) -> dict[str, Any]:
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
        return [r.opportunity_id for r in self.rows]


def parse_json(body: bytes) -> Any:
    """The JSON document in ``body``; raises InputError(422) when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(
            422, [_problem(["body"], f"invalid JSON: {exc}", "json_invalid")]
        ) from None


def check_size(records: Any, where: list[Any], max_rows: int) -> list[Any]:
    """``records`` when it is a non-empty list of at most ``max_rows`` items."""
    if not isinstance(records, list):
        raise InputError(422, [_problem(where, "must be a list of rows", "list_type")])
    if not records:
        raise InputError(422, [_problem(where, "must hold at least one row", "too_short")])
    if len(records) > max_rows:
        msg = f"{len(records)} rows exceed the limit of {max_rows} per request"
        raise InputError(413, [_problem(where, msg, "too_long")])
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
        found.append(_problem([*where, i, "sales_agent"], msg, "unknown_value", i))
    if row.product not in products:
        msg = f"unknown product {row.product!r}; known: {', '.join(sorted(products))}"
        found.append(_problem([*where, i, "product"], msg, "unknown_value", i))
    if row.engage_date is not None and row.engage_date > as_of:
        msg = f"engage_date {row.engage_date} is after as_of_date {as_of}"
        found.append(_problem([*where, i, "engage_date"], msg, "date_order", i))
    return found


def _from_pydantic(error: Any, where: list[Any]) -> dict[str, Any]:
    loc = [*where, *error["loc"]]
    row = error["loc"][0] if error["loc"] and isinstance(error["loc"][0], int) else None
    return _problem(loc, error["msg"], error["type"], row)


def split_records(split: Any, max_rows: int) -> list[dict[str, Any]]:
    """MLflow ``dataframe_split`` (``columns`` + ``data``) as records."""
    where = ["body", "dataframe_split"]
    if not isinstance(split, dict) or not isinstance(split.get("columns"), list):
        raise InputError(
            422, [_problem([*where, "columns"], "must be a list of column names", "missing")]
        )
    columns = split["columns"]
    data = check_size(split.get("data"), [*where, "data"], max_rows)
    records = []
    for i, values in enumerate(data):
        if not isinstance(values, list) or len(values) != len(columns):
            msg = f"must be a list of {len(columns)} values, one per column"
            raise InputError(422, [_problem([*where, "data", i], msg, "row_shape", i)])
        records.append(dict(zip(columns, values, strict=True)))
    return records
