"""The outbound audit the pipeline platform runs under sees what it is there to see: an
MLflow client left at its default reports usage, and the hook records (and refuses)
that attempt, so an empty record on the platform means something (the platform test
shows that the variable opsctl sets silences it)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.integration.isolation import QUIET_BY_ITSELF, attempts, audited_environ

_CLIENT = textwrap.dedent(
    """
    import time
    import mlflow
    try:  # no server: the call fails, and is reported all the same
        mlflow.MlflowClient("http://127.0.0.1:9").create_experiment("audited")
    except mlflow.exceptions.MlflowException:
        pass
    time.sleep(3)  # the reporting thread looks up its configuration meanwhile
    """
)


def _run_client(tmp_path: Path, **extra: str) -> list[dict]:
    """What an MLflow client process attempted, run under the audit hook without the
    variables that would silence it by themselves."""
    log = tmp_path / "outbound.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in QUIET_BY_ITSELF}
    env = {k: v for k, v in env.items() if k not in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK")}
    env |= {**audited_environ(log), "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", **extra}
    done = subprocess.run(
        [sys.executable, "-c", _CLIENT],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return attempts(log)


def test_an_mlflow_client_at_its_default_is_seen_reporting(tmp_path: Path) -> None:
    seen = _run_client(tmp_path)
    assert any("mlflow-telemetry" in a["target"] for a in seen), seen
