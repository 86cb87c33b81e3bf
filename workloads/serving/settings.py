"""Settings of the prediction service, from ``SERVING_*`` environment variables.

``SERVING_MODEL_NAME`` / ``SERVING_MODEL_ALIAS``: the registered model and the
alias to follow (default ``crm-win-probability`` / ``champion``);
``MLFLOW_TRACKING_URI`` is read by MLflow itself.
``SERVING_PREDICTIONS_URL``: where the prediction log goes (``s3://bucket`` or
``file:///path``; unset: no log). ``SERVING_API_KEY``: when set, ``/predict``
and ``/invocations`` require it in the ``X-API-Key`` header.
``SERVING_MAX_BATCH_ROWS`` (1000), ``SERVING_REFRESH_S`` (30, how often the
alias is checked), ``SERVING_LOG_FLUSH_ROWS`` (5000) and ``SERVING_LOG_FLUSH_S``
(10): the prediction log is written when either threshold is reached.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from ml.settings import RegistrySettings

_REGISTRY = RegistrySettings()


@dataclass(frozen=True)
class ServingSettings:
    """What one service instance serves and how."""

    model_name: str = _REGISTRY.model_name
    model_alias: str = _REGISTRY.champion_alias
    predictions_url: str | None = None
    api_key: str | None = None
    max_batch_rows: int = 1000
    refresh_s: float = 30.0
    log_flush_rows: int = 5000
    log_flush_s: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServingSettings:
        """Settings from ``SERVING_<FIELD>`` variables; empty values count as unset.

        Raises ValueError naming the variable when a number does not parse.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in fields(cls):
            variable = f"SERVING_{field.name.upper()}"
            raw = environ.get(variable, "")
            if raw == "":
                continue
            cast = {"int": int, "float": float}.get(str(field.type), str)
            try:
                values[field.name] = cast(raw)
            except ValueError:
                raise ValueError(f"{variable}={raw!r} is not a valid {field.type}") from None
        return cls(**values)
