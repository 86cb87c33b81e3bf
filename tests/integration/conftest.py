"""Integration tests start the real services on a free block of loopback ports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port_base
from tests.integration.diagnostics import PLATFORMS_UP, log_tails

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
)
ARTIFACTS = REPO / "test-artifacts"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed test's report carries the service logs of every platform then up,
    read before the fixture's ``down --purge`` deletes them."""
    report = yield
    if report.failed:
        for root in sorted(PLATFORMS_UP):
            report.sections.append((f"platform logs under {root}", log_tails(root)))
    return report


@dataclass
class LocalPlatform:
    """Runs ``opsctl`` against a private local environment."""

    state_dir: Path  # the environment's own folder, below OPSCTL_STATE_DIR
    port_base: int
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ops_cli", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            cwd=REPO,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "ops_cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=REPO,
        )

    def json(self, *args: str) -> dict:
        result = self.run(*args, "--output", "json")
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"opsctl {args} printed no JSON: {result.stderr}") from None

    def secret(self, name: str) -> str:
        return json.loads((self.state_dir / "secrets.json").read_text())[name]


def mlflow_auth(state_dir: Path) -> tuple[str, str]:
    """The credentials the platform's clients sign in to its MLflow with."""
    secrets = json.loads((state_dir / "secrets.json").read_text())
    return "platform", secrets["mlflow-password"]


def prefect_api(state_dir: Path, port_base: int):
    """opsctl's own Prefect client, signed in to the platform's server (auth string and
    CSRF tokens)."""
    from ops_cli.pipeline import PrefectApi
    from ops_cli.service_auth import ServiceCredentials

    secrets = json.loads((state_dir / "secrets.json").read_text())
    creds = ServiceCredentials("platform", prefect_auth_string=secrets["prefect-auth-string"])
    return PrefectApi(f"http://127.0.0.1:{port_base + 20}/api", headers=creds.prefect_header())


def signed_in_environ(state_dir: Path) -> dict[str, str]:
    """The variables with which an MLflow or Prefect client of the platform signs in."""
    secrets = json.loads((state_dir / "secrets.json").read_text())
    return {
        "MLFLOW_TRACKING_USERNAME": "platform",
        "MLFLOW_TRACKING_PASSWORD": secrets["mlflow-password"],
        "PREFECT_API_AUTH_STRING": secrets["prefect-auth-string"],
    }


@pytest.fixture
def local_platform(tmp_path: Path):
    """A local environment on its own ports and state dir; always taken down after."""
    base = free_port_base(start=int(os.environ.get("OPSCTL_TEST_PORT_START", "20000")))
    env = {
        **os.environ,
        "OPSCTL_ENVIRONMENTS_DIR": str(REPO / "environments"),
        "OPSCTL_STATE_DIR": str(tmp_path / "state"),
        "OPSCTL_NETWORK__PORT_BASE": str(base),
    }
    platform = LocalPlatform(tmp_path / "state" / "local", base, env)
    PLATFORMS_UP.add(tmp_path / "state")
    yield platform
    PLATFORMS_UP.discard(tmp_path / "state")
    platform.run("down", "--purge", "--yes", timeout=120)


def crm_folder(folder: Path, rows: int = 3000) -> Path:
    """A folder of the four CRM files standing in for a user's own data: the generator
    with no planted signal and other agent names than the bootstrap's (``Rep 001``...)."""
    from ml.data.synthetic import GeneratorConfig, generate_csv_files

    folder.mkdir(parents=True, exist_ok=True)
    config = GeneratorConfig(rows=rows, seed=5, signal=0.0, agent_prefix="Rep")
    for name, data in generate_csv_files(config).items():
        (folder / name).write_bytes(data)
    return folder


def open_deals(folder: Path, as_of: str) -> list[dict]:
    """The open deals of ``folder``'s sales_pipeline.csv as ``/invocations`` records."""
    import pandas as pd

    deals = pd.read_csv(folder / "sales_pipeline.csv", dtype=str)
    deals = deals[deals["deal_stage"].isin(["Engaging", "Prospecting"])]
    columns = ["opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date"]
    rows = deals[columns].astype(object).where(deals[columns].notna(), None)
    return [{**r, "as_of_date": as_of} for r in rows.to_dict("records")]


@pytest.fixture
def browser(tmp_path: Path):
    """Headless Chromium through chromedriver (selenium); skips without them, except in
    CI, where ``.ci/run`` installs both and their absence is a failure."""
    if not CHROMIUM or not DRIVER:
        reason = "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,1400",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()
