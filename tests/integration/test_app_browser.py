"""The running Streamlit app, started with the streamlit workload's own command: what
every visitor's browser is told (the viewer's toolbar, over Streamlit's websocket),
and in headless Chromium a prediction against a stub of the prediction service, with
a screenshot kept under test-artifacts/.

The browser test skips only when Chromium or its driver is not installed (``.ci/run``
installs both).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from ops_cli.catalog.loader import load_catalog
from ops_cli.catalog.placeholders import fill
from tests.conftest import REPO, free_port_base
from tests.workloads.app.stubs import serve_stub

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
)
ARTIFACTS = REPO / "test-artifacts"
LAUNCHER = "from workloads.app.main import run\n\nrun()\n"


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return "127.0.0.1", free_port_base(start=26300, size=1)


def _wait_healthy(url: str, process: subprocess.Popen, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"streamlit exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"streamlit at {url} not healthy after {timeout_s}s")


@pytest.fixture
def running_app(httpserver: HTTPServer, tmp_path: Path) -> Iterator[str]:
    """The app started the way the streamlit workload starts it, on a free port."""
    port = free_port_base(start=26400, size=1)
    launcher = tmp_path / "streamlit_app.py"
    launcher.write_text(LAUNCHER)
    env = {**os.environ, "CRM_SERVING_URL": serve_stub(httpserver), "CRM_OPSCTL": "true"}
    env.pop("CRM_DATA_URL", None)
    context = {"python": sys.executable, "data_dir": str(tmp_path), "bind_host": "127.0.0.1",
               "port.http": str(port), "telemetry.report_usage": "false"}  # fmt: skip
    command = [fill(arg, context, where="streamlit") for arg in load_catalog()["streamlit"].command]
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Headless Chromium driven through the installed chromedriver: with the driver's
    path given, selenium does not run its manager (which would look drivers up online
    and send usage statistics); the variables keep the manager offline and silent even so."""
    monkeypatch.setenv("SE_OFFLINE", "true")
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    if not CHROMIUM or not DRIVER:
        reason = "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):  # .ci/run installs them: their absence there is a failure
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


def test_visitors_get_the_viewer_toolbar(running_app: str) -> None:
    """The session's config, as Streamlit sends it to every browser that opens the app:
    the viewer's toolbar has no Deploy button, rerun or clear-cache controls."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.proto.NewSession_pb2 import Config
    from websockets.sync.client import connect

    url = running_app.replace("http://", "ws://") + "/_stcore/stream"
    with connect(url, subprotocols=["streamlit"], open_timeout=30) as socket:  # type: ignore[list-item]
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        socket.send(rerun.SerializeToString())
        for _ in range(50):
            message = ForwardMsg()
            message.ParseFromString(socket.recv(timeout=60))
            if message.WhichOneof("type") == "new_session":
                break
        else:
            raise AssertionError("Streamlit sent no new_session message")
    assert message.new_session.config.toolbar_mode == Config.ToolbarMode.VIEWER


def test_predict_page_in_a_browser(running_app: str, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 60)
    browser.get(f"{running_app}/")  # Predict is the default page: Streamlit serves it at /
    button = wait.until(
        ready.element_to_be_clickable(
            (By.CSS_SELECTOR, "[data-testid='stFormSubmitButton'] button")
        )
    )
    agent = wait.until(  # the choices render after the reference data has loaded
        ready.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label='Sales agent']"))
    )
    # nothing covers the form (a wrong page path gets Streamlit's "Page not found" dialog)
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid='stDialog']") == []
    agent.click()  # Tab commits the value: the service refuses an empty agent, as the stub does
    agent.send_keys("Anna Alder", Keys.TAB)
    typed = (By.CSS_SELECTOR, "input[aria-label='Sales agent']")
    wait.until(lambda page: page.find_element(*typed).get_attribute("value") == "Anna Alder")
    button.click()
    metric = wait.until(
        ready.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='stMetricValue']"))
    )
    wait.until(lambda _: metric.text == "42.0%")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", metric)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "app_predict.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    assert "v7" in browser.find_element(By.TAG_NAME, "body").text
    # a visitor sees no development controls
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid='stAppDeployButton']") == []
