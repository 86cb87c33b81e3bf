"""The prediction service fails closed: without its API key it does not start,
unless it is told in so many words (``SERVING_AUTH_REQUIRED=false``) to serve
without authentication."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workloads.serving.settings import ServingSettings

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "environ",
    [{}, {"SERVING_API_KEY": ""}, {"SERVING_API_KEY": "k", "SERVING_AUTH_REQUIRED": "true"}],
)
def test_a_key_is_required_unless_auth_is_turned_off(environ) -> None:
    if environ.get("SERVING_API_KEY"):
        assert ServingSettings.from_env(environ).api_key == "k"
        return
    with pytest.raises(ValueError, match="SERVING_API_KEY is empty or unset"):
        ServingSettings.from_env(environ)
    off = ServingSettings.from_env({**environ, "SERVING_AUTH_REQUIRED": "false"})
    assert (off.auth_required, off.api_key) == (False, None)


def test_a_bad_auth_setting_names_the_variable() -> None:
    with pytest.raises(
        ValueError, match="SERVING_AUTH_REQUIRED='maybe': Input should be a valid boolean"
    ):
        ServingSettings.from_env({"SERVING_AUTH_REQUIRED": "maybe", "SERVING_API_KEY": "k"})


def test_the_process_refuses_to_start_with_an_empty_key() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SERVING_")}
    result = subprocess.run(
        [sys.executable, "-m", "workloads.serving", "--port", "9"],
        env={**environ, "SERVING_API_KEY": "", "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2
    assert "not starting: SERVING_API_KEY is empty or unset" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one clear log line
