"""Where a monitoring run leaves its results for people and the app, in monitoring storage::

<monitoring url>/results/<YYYY-MM>.json   one document per monitored month
<monitoring url>/alerts/<YYYY-MM>-<time>.json   one document per alert raised
<monitoring url>/state/retraining.json   the retraining cool-down state
<monitoring url>/state/triggers.json     whether each rule is firing, and since when
<monitoring url>/reference/...           cached training references
<monitoring url>/evidently/...           the Evidently workspace (default)
<monitoring url>/replay/latest.json      which demo replay is the latest (generated data)
<monitoring url>/replay/<id>/...         a demo replay's own results/, alerts/, state/
"""

from __future__ import annotations

from typing import Any

from ml import storage


def results_url(monitoring_url: str, month: str) -> str:
    """The URL of ``month``'s results: ``<monitoring_url>/results/<month>.json``."""
    return storage.join(monitoring_url, "results", f"{month}.json")


def write_results(monitoring_url: str, result: dict[str, Any]) -> str:
    """Store the result of the run for ``result["month"]``; returns its URL."""
    url = results_url(monitoring_url, result["month"])
    storage.write_json(url, result)
    return url


def read_result(monitoring_url: str, month: str) -> dict[str, Any] | None:
    """The stored result of ``month``, or None."""
    url = results_url(monitoring_url, month)
    return storage.read_json(url) if storage.exists(url) else None


def read_json_or(url: str, default: Any) -> Any:
    """The JSON document at ``url``, or ``default`` when there is none."""
    return storage.read_json(url) if storage.exists(url) else default


def latest_replay_url(monitoring_url: str) -> str:
    """Where the pointer to the latest demo replay is kept."""
    return storage.join(monitoring_url, "replay", "latest.json")


def read_latest_replay(monitoring_url: str) -> dict[str, Any] | None:
    """The latest demo replay's summary (``replay_id``, ``monitoring_url``, months, ...),
    or None when no replay ran."""
    return read_json_or(latest_replay_url(monitoring_url), None)


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
