"""Where a monitoring run leaves its results for people and the app, in monitoring storage::

<monitoring url>/results/<YYYY-MM>.json   one document per monitored month
<monitoring url>/alerts/<YYYY-MM>-<time>.json   one document per alert raised
<monitoring url>/state/retraining.json   the retraining cool-down state
<monitoring url>/reference/...           cached training references
<monitoring url>/evidently/...           the Evidently workspace (default)
"""

from __future__ import annotations

from typing import Any

from ml import storage


def results_url(monitoring_url: str, month: str) -> str:
    return storage.join(monitoring_url, "results", f"{month}.json")


def write_results(monitoring_url: str, result: dict[str, Any]) -> str:
    """Store the result of the run for ``result["month"]``; returns its URL."""
    url = results_url(monitoring_url, result["month"])
    storage.write_json(url, result)
    return url


def _read_folder(url: str) -> list[dict[str, Any]]:
    names = [n for n in storage.list_names(url) if n.endswith(".json")]
    return [storage.read_json(storage.join(url, name)) for name in names]


def read_results(monitoring_url: str) -> list[dict[str, Any]]:
    """Every stored monthly result, oldest month first."""
    found = _read_folder(storage.join(monitoring_url, "results"))
    return sorted(found, key=lambda r: r["month"])


def read_alerts(monitoring_url: str) -> list[dict[str, Any]]:
    """Every alert raised, newest first."""
    found = _read_folder(storage.join(monitoring_url, "alerts"))
    return sorted(found, key=lambda a: a["raised_at"], reverse=True)
