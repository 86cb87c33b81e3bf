"""Request bodies before validation: media type (415), size (413), then parsing.

A body larger than the limit is refused as soon as its declared length or the
bytes received so far pass it, so it is never held or parsed whole. JSON is
parsed as MLflow's scoring server parses it: the bare tokens ``NaN``,
``Infinity`` and ``-Infinity`` are accepted, and ``NaN`` means a missing value.
CSV (``text/csv``) is read as MLflow reads it (pandas' default missing-value
tokens), every cell as text.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pandas as pd

from workloads.serving.inputs import InputError, problem

JSON, CSV = "application/json", "text/csv"


def media_type(raw: str | None, supported: tuple[str, ...]) -> str:
    """The media type of Content-Type header ``raw`` when it is one of ``supported``
    (UTF-8 only); raises InputError(415) naming the supported types otherwise."""
    names = ", ".join(supported)
    if not raw:
        _unsupported(f"a Content-Type header is required; supported: {names}")
    assert raw is not None
    mime, *parameters = (part.strip() for part in raw.split(";"))
    if mime.lower() not in supported:
        _unsupported(f"Content-Type {raw!r} is not supported; supported: {names}")
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() != "charset" or value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            _unsupported(f"Content-Type parameter {parameter!r} is not supported; use {names} "
                         "with no parameter other than charset=utf-8")  # fmt: skip
    return mime.lower()


def _unsupported(msg: str) -> None:
    raise InputError(415, [problem(["header", "content-type"], msg, "media_type")])


async def read_body(declared: str | None, chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The body (``chunks`` as they arrive, ``declared``: its Content-Length header),
    refused with InputError(413) once it is known to exceed ``limit`` bytes."""
    declared = declared or ""
    if declared.isdigit() and int(declared) > limit:
        _too_large(int(declared), limit)
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            _too_large(size, limit)
        parts.append(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _too_large(size: int, limit: int) -> None:
    msg = f"the body ({size} bytes or more) exceeds the limit of {limit} bytes per request"
    raise InputError(413, [problem(["body"], msg, "too_large")])


def _constant(token: str) -> float | None:
    return None if token == "NaN" else float(token)


def parse_json(body: bytes) -> Any:
    """The JSON document in ``body``, ``NaN`` read as null; InputError(422) when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass  # perhaps NaN or Infinity, which only the standard library reads
    try:
        return json.loads(body, parse_constant=_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise InputError(422, [problem(["body"], f"invalid JSON: {exc}", "json_invalid")]) from None


def parse_csv(body: bytes) -> list[dict[str, Any]]:
    """Rows of a CSV body with a header line; empty cells and pandas' missing-value
    tokens (``NA``, ``NaN``, ``null`` ...) are None. InputError(422) when it is not CSV."""
    try:
        text = body.decode("utf-8")
        frame = pd.read_csv(io.StringIO(text), dtype=str)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(422, [problem(["body"], f"invalid CSV: {exc}", "csv_invalid")]) from None
    frame = frame.astype(object).where(frame.notna(), None)
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
