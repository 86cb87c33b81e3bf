"""A client of the prediction service.

Contract: ``POST /predict`` with ``{"opportunities": [...]}`` answers
``{"request_id", "model": {"name", "version"}, "predictions": [{"opportunity_id",
"win_probability"}]}``, or 422 with a message naming the field and row;
``GET /version`` answers ``{"model_name", "model_version", "alias", "loaded_at", "kind",
"family", "data", "note"}`` (``data``: what the model was trained on, or null; ``note``:
set when a baseline serves).
``X-API-Key`` is sent when a key is configured.
"""

from __future__ import annotations

from typing import Any

import httpx

OPPORTUNITY_FIELDS = ("opportunity_id", "sales_agent", "product", "account", "deal_stage")
DATE_FIELDS = ("engage_date", "as_of_date")


class ServiceDown(RuntimeError):
    """The service does not answer, or answers with a server error."""


class Rejected(ValueError):
    """The service refused the input (HTTP 4xx); the message says why."""


class ServingClient:
    """Calls the prediction service at ``base_url``."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout_s: float = 30.0):
        headers = {"X-API-Key": api_key} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceDown(
                f"the prediction service at {self.base_url} is unreachable: {exc}"
            ) from None
        if response.status_code >= 500:
            raise ServiceDown(f"the prediction service answered {response.status_code}")
        if response.status_code >= 400:
            raise Rejected(_message(response))
        return response.json()

    def version(self) -> dict[str, Any]:
        """The model the service has loaded."""
        return self._call("GET", "/version")

    def predict(self, opportunities: list[dict[str, Any]]) -> dict[str, Any]:
        """Scores for ``opportunities`` (see the module docstring)."""
        return self._call("POST", "/predict", json={"opportunities": opportunities})


def _message(response: httpx.Response) -> str:
    """The service's own explanation of a 4xx answer."""
    if response.status_code in (401, 403):
        return f"the prediction service refused the API key (HTTP {response.status_code})"
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        return response.text or f"HTTP {response.status_code}"
    if isinstance(detail, list):
        return "; ".join(_describe(item) for item in detail)
    return str(detail)


def _describe(item: Any) -> str:
    """One problem of a 422 as ``field: message``. The row's position in the request
    is left out: the caller knows which row it sent (the Batch page sends a refused
    chunk again one row at a time and names the row by its line in the file)."""
    if not isinstance(item, dict) or "msg" not in item:
        return str(item)
    field = item.get("field") or ".".join(
        str(p) for p in item.get("loc", [])[2:] if not isinstance(p, int)
    )
    return f"{field}: {item['msg']}" if field else str(item["msg"])
