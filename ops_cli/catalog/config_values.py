"""Placeholders whose values come from the environment's settings alone, the same for
every backend (the local scheduler and the Nomad renderer both add them).

``telemetry.report_usage``   ``true`` when the operator opted in to usage reporting,
                             else ``false`` (for settings that take a boolean)
``telemetry.do_not_track``   ``true`` unless the operator opted in, else empty: an
                             empty value is never set, so a variable whose mere
                             presence turns reporting off (``DO_NOT_TRACK`` for
                             Evidently, ``NML_DISABLE_USAGE_LOGGING``) is absent
``service_auth.mlflow_username``  the MLflow user the platform's clients sign in as
"""

from __future__ import annotations

from ops_cli.config.models import EnvironmentConfig


def config_values(config: EnvironmentConfig) -> dict[str, str]:
    """The placeholders above, filled from ``config``."""
    opted_in = config.telemetry.report_usage
    return {
        "telemetry.report_usage": "true" if opted_in else "false",
        "telemetry.do_not_track": "" if opted_in else "true",
        "service_auth.mlflow_username": config.service_auth.mlflow_username,
    }
