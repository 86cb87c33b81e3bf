"""What a model version was trained on, recorded with it: the data's lineage.

The lineage is one JSON object (the ``data`` object every surface shows)::

    {"source": "folder",                 # kaggle, folder or synthetic
     "origin": "/home/me/crm",           # the folder, the Kaggle handle or the generator
     "version": "3f2a...",               # the raw data's content hash (ml.data.acquire)
     "month": "2017-12",                 # the month-end the tables were known at
     "rows": {"read": 8800, "quarantined": 0, "train": 9000, "val": 2100, "eval": 3100},
     "months": {"train": ["2017-03", ...], "val": [...], "eval": [...]},
     "quality_score": 1.0,
     "reading": ["sales_pipeline.csv: semicolon-separated (read as such)"]}

``rows.read`` and ``rows.quarantined`` count ``sales_pipeline.csv`` rows; the
train/val/eval counts are labelled (deal, month-end) rows of the time splits;
``reading`` says how files that differ from the originals were read (delimiter,
byte-order mark, date formats; ``ml.validation``).
It is stored as the tag ``data`` (compact JSON) on the training run and on the
model version, with ``data.source`` and ``data.version`` beside it so the
registry can be searched by them.

Kaggle and folder sources are **real** data; the generator's data is **generated**.
"""

from __future__ import annotations

import json
from typing import Any

REAL_SOURCES = ("kaggle", "folder")
GENERATED_SOURCES = ("synthetic",)
BASELINE_MESSAGE = (
    "no learned model beats the historical win rate on this data; serving the baseline"
)
"""What every surface says when the champion is a baseline."""


def _origin(source: dict[str, Any]) -> str:
    kind = source.get("kind")
    if kind == "folder":
        return str(source.get("path", ""))
    if kind == "kaggle":
        return str(source.get("handle", ""))
    fields = ("rows", "seed", "signal", "drift")
    return "generator " + ", ".join(f"{k} {source[k]}" for k in fields if k in source)


def build_lineage(
    source: dict[str, Any] | None,
    version: str,
    month: str,
    processing: dict[str, Any],
    split_rows: dict[str, int],
    split_months: dict[str, list[str]],
) -> dict[str, Any]:
    """The ``data`` object of a model trained on raw ``version`` as known at ``month``.

    ``source`` is the acquisition manifest's source (``describe()`` of the
    source), ``processing`` the summary ``ml.runs.process_month`` wrote.
    """
    source = source or {}
    quarantined = processing.get("quarantined_rows", {})
    return {
        "source": source.get("kind", "unknown"),
        "origin": _origin(source),
        "version": version,
        "month": month,
        "rows": {
            "read": int(processing.get("rows_read", 0)),
            "quarantined": int(quarantined.get("sales_pipeline", 0)),
            **{part: int(n) for part, n in split_rows.items()},
        },
        "months": {part: list(months) for part, months in split_months.items()},
        "quality_score": processing.get("quality_score"),
        "reading": list(processing.get("reading", [])),
    }


def is_real(source: str | None) -> bool:
    """True for data from Kaggle or a folder; False for generated or unknown data."""
    return source in REAL_SOURCES


def describe_source(source: str | None) -> str:
    """``real data (folder)``, ``generated data (synthetic)`` or ``data of unknown origin``."""
    if source in REAL_SOURCES:
        return f"real data ({source})"
    if source in GENERATED_SOURCES:
        return f"generated data ({source})"
    return "data of unknown origin"


def lineage_tags(data: dict[str, Any]) -> dict[str, str]:
    """MLflow tags recording ``data`` (each value well under MLflow's 5,000 characters)."""
    return {
        "data": json.dumps(data, separators=(",", ":"), sort_keys=True),
        "data.source": str(data.get("source")),
        "data.version": str(data.get("version")),
    }


def lineage_from_tags(tags: dict[str, str]) -> dict[str, Any] | None:
    """The ``data`` object recorded in ``tags``, or None for a version without lineage."""
    try:
        data = json.loads(tags["data"])
    except (KeyError, TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None
