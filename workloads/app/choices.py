"""Choices for the prediction form and the batch check: the accounts, products and sales
agents of the data the served model was trained on, never of whatever data was
acquired last (a model knows only the agents and products it was trained with).

The served model's lineage (``GET /version`` -> ``data``: raw data version and
month) names the clean tables monthly processing wrote under ``CRM_DATA_URL``.
"""

from __future__ import annotations

from typing import Any

from ml.runs import load_tables


def model_choices(data_url: str, data: dict[str, Any] | None) -> dict[str, list[str]] | None:
    """``{"accounts": [...], "products": [...], "agents": [...]}`` (sorted) of the data
    described by lineage ``data``; None when the model recorded no lineage. Raises
    FileNotFoundError or OSError when those tables are not in storage."""
    if not data or not data.get("version") or not data.get("month"):
        return None
    tables = load_tables(data_url, str(data["version"]), str(data["month"]))

    def column(frame: Any, name: str) -> list[str]:
        return sorted(frame[name].dropna().astype(str).unique().tolist())

    return {
        "accounts": column(tables.accounts, "account"),
        "products": column(tables.products, "product"),
        "agents": column(tables.teams, "sales_agent"),
    }


def describe(version: dict[str, Any]) -> str:
    """One line on the served model: ``Model crm-win-probability v4 (baseline:
    agent_win_rate), trained on folder data 3f2a9c1d, evaluated on 2017-10..2017-12``."""
    kind = "baseline: " if version.get("kind") == "baseline" else ""
    text = f"Model {version.get('model_name')} v{version.get('model_version')}"
    if version.get("family"):
        text += f" ({kind}{version['family']})"
    data = version.get("data")
    if not data:
        return text + "; it recorded no lineage (trained before lineage was kept)"
    months = data.get("months", {}).get("eval") or []
    text += f", trained on {data.get('source')} data {str(data.get('version'))[:8]}"
    if months:
        text += f", evaluated on {months[0]}..{months[-1]}"
    return text
