"""The pipeline through a real local platform (SeaweedFS, MLflow, Prefect server and
worker under supervisord), on its own ports and state directory: the bootstrap on
generated data, a run on the user's own files (the generator with no signal and other
agent names, from a folder) that reports itself in one screen and leaves a champion
with its lineage, the same files again reusing that version, a generated-data run that
does not replace it, and bad data that stops a run with a message naming the column;
then, on the same platform, a demo replay of generated months: monitoring month by
month, one alert, one training run, the Evidently UI and the app's Monitoring page.

The whole module runs with outbound connections refused except to loopback (a network
namespace with only ``lo``, and an audit hook in every Python process that records
each attempt to leave): the last test shows that ``up``, the pipeline, the replay and
a prediction attempted none."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import REPO, free_port_base
from tests.integration.conftest import ARTIFACTS, crm_folder, prefect_api
from tests.integration.diagnostics import PLATFORMS_UP
from tests.integration.isolation import (
    QUIET_BY_ITSELF,
    attempts,
    audited_environ,
    loopback_only_network,
    watched_commands,
)

pytestmark = pytest.mark.integration


def _opsctl(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops_cli", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


ISOLATION: dict[str, object] = {}


def _audited_environments(folder: Path, log: Path) -> Path:
    """A copy of environments/ whose every workload loads the outbound audit hook."""
    shutil.copytree(REPO / "environments", folder)
    base = yaml.safe_load((folder / "base.yaml").read_text())
    for settings in base["workloads"].values():
        settings["env"] = {**settings.get("env", {}), **audited_environ(log)}
    (folder / "base.yaml").write_text(yaml.safe_dump(base))
    return folder


@pytest.fixture(scope="module")
def platform_env(tmp_path_factory: pytest.TempPathFactory):
    """One platform for the module (starting one costs about a minute), in a network
    with loopback alone, every Python process of it watched by the audit hook."""
    tmp_path = tmp_path_factory.mktemp("pipeline-platform")
    log = tmp_path / "outbound.jsonl"
    # free on this host too: weed also makes unix sockets in /tmp named by its ports
    port_base = free_port_base(int(os.environ.get("OPSCTL_TEST_PORT_START", "19000")))
    with loopback_only_network() as isolated:
        if not isolated and os.environ.get("CI"):
            pytest.fail("CI runs as root: the network namespace of this module must be possible")
        ISOLATION.update(log=log, namespace=isolated)
        yield from _platform(tmp_path, log, port_base)


def _platform(tmp_path: Path, log: Path, port_base: int):
    environ = {k: v for k, v in os.environ.items() if k not in QUIET_BY_ITSELF}
    env = {
        **environ,
        **audited_environ(log),
        "OPSCTL_ENVIRONMENTS_DIR": str(_audited_environments(tmp_path / "environments", log)),
        "OPSCTL_STATE_DIR": str(tmp_path / "state"),
        "OPSCTL_NETWORK__PORT_BASE": str(port_base),
        "OPSCTL_PIPELINE__TRIALS": "3",
        "OPSCTL_PIPELINE__DEFAULT_ROWS": "3000",
    }
    for variable in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI"):
        env.pop(variable, None)
    # no champion exists yet, so `up` also runs the bootstrap pipeline
    PLATFORMS_UP.add(tmp_path / "state")
    up = _opsctl(env, "up", "--env", "local", "--output", "json")
    try:
        assert up.returncode == 0, up.stderr
        assert "No champion model yet" in up.stderr
        yield env
    finally:
        PLATFORMS_UP.discard(tmp_path / "state")
        _opsctl(env, "down", "--env", "local", "--purge", "--yes", timeout=300)


def _versions(env: dict[str, str]) -> list[dict]:
    listed = _opsctl(env, "model", "list", "--env", "local", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)["versions"]


def _champion(versions: list[dict]) -> dict:
    return next(v for v in versions if "champion" in v["aliases"])


def test_a_real_data_run_after_the_bootstrap_serves_a_champion_with_its_lineage(
    platform_env, tmp_path: Path
) -> None:
    bootstrapped = _champion(_versions(platform_env))  # learned, or the baseline
    assert bootstrapped["data"]["source"] == "synthetic"

    # the user's own files: other agents, no planted signal
    folder = crm_folder(tmp_path / "crm")
    run = _opsctl(platform_env, "pipeline", "run", "--env", "local", "--source", str(folder),
                  "--wait")  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    screen = run.stdout
    for expected in ("3000 rows read, 0 quarantined, quality score 1.000", "Months    trained",
                     "evaluated out of time", "baseline: historical win rate",
                     "baseline: agent win rate", "Decision  v", "Serving   crm-win-probability v"):  # fmt: skip
        assert expected in screen, screen
    assert "Traceback" not in run.stdout + run.stderr

    versions = _versions(platform_env)
    champion = _champion(versions)
    assert champion["version"] != bootstrapped["version"]
    data = champion["data"]
    assert data["source"] == "folder" and data["origin"] == str(folder)
    assert data["rows"]["read"] == 3000 and data["rows"]["eval"] > 0
    assert data["months"]["eval"] and data["months"]["train"]
    assert f"trained on folder {data['version'][:8]}" in screen
    if champion["kind"] == "baseline":
        assert "serving the baseline" in screen and champion["reason"].startswith("no learned")

    # the same files again: the version trained on them is reused, nothing registered
    same = _opsctl(platform_env, "pipeline", "run", "--env", "local", "--source", str(folder),
                   "--wait")  # fmt: skip
    assert same.returncode == 0, same.stdout + same.stderr
    learned = next(v for v in versions if v["kind"] == "learned" and v["data"] == data)
    assert (f"Decision  reused v{learned['version']} (same data, code and settings): nothing "
            "trained or registered") in same.stdout, same.stdout  # fmt: skip
    assert "--force trains, registers and gates a new version" in same.stdout
    assert _versions(platform_env) == versions  # no version, no alias moved

    # generated data (not the bootstrap's: that would be reused) never replaces a
    # champion trained on real data
    again = _opsctl(platform_env, "pipeline", "run", "--env", "local", "--source", "synthetic",
                    "--rows", "3500", "--wait", "--output", "json")  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    report = json.loads(again.stdout)["report"]
    assert not report["training"]["promoted"]
    assert "generated data never replaces it" in report["training"]["reason"]
    assert report["serving"]["version"] == champion["version"]
    assert _champion(_versions(platform_env))["version"] == champion["version"]

    # bad data stops the run with its evidence and a message naming the column
    ambiguous = crm_folder(tmp_path / "ambiguous", rows=1000)
    deals = (ambiguous / "sales_pipeline.csv").read_text()
    (ambiguous / "sales_pipeline.csv").write_text(_day_month_swapped(deals))
    bad = _opsctl(platform_env, "pipeline", "run", "--env", "local", "--source", str(ambiguous),
                  "--wait")  # fmt: skip
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "engage_date is ambiguous" in bad.stdout and "Traceback" not in bad.stdout + bad.stderr

    status = _opsctl(platform_env, "pipeline", "status", "--env", "local", "--output", "json")
    assert status.returncode == 0, status.stderr
    crons = {c for d in json.loads(status.stdout)["deployments"] for c in d["schedules"]}
    assert {"0 2 1 * *", "0 4 1 * *"} <= crons  # monthly processing, then training
    # the recent runs are the ones just made, not the schedules' runs of later months
    states = {r["state"] for r in json.loads(status.stdout)["runs"]}
    assert {"Completed", "Failed"} <= states and "Scheduled" not in states, states

    # a source that cannot be read is refused at once, and no flow run is created
    before = _pipeline_runs(platform_env)
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "accounts.csv").write_text("account,sector\n")
    no_credentials = {k: v for k, v in platform_env.items() if not k.startswith("KAGGLE_")}
    no_credentials |= {"HOME": str(tmp_path), "KAGGLE_CONFIG_DIR": str(tmp_path / "none")}
    for env, source in ((platform_env, str(partial)), (no_credentials, "kaggle")):
        refused = _opsctl(env, "pipeline", "run", "--env", "local", "--source", source, "--wait")
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "Traceback" not in refused.stderr
    assert _pipeline_runs(platform_env) == before >= 2


def _state(env: dict[str, str]) -> Path:
    """The local environment's own folder below the state root."""
    return Path(env["OPSCTL_STATE_DIR"]) / "local"


def _prefect(env: dict[str, str]):
    """opsctl's Prefect client, signed in to the platform's server."""
    return prefect_api(_state(env), int(env["OPSCTL_NETWORK__PORT_BASE"]))


def _pipeline_runs(env: dict[str, str]) -> int:
    """How many runs the Prefect server holds of the deployment ``pipeline run`` starts
    (it has no schedule, so only commands add runs)."""
    api = _prefect(env)
    deployment = api._call("GET", "deployments/name/crm-pipeline/crm-pipeline")
    body = {"flow_runs": {"deployment_id": {"any_": [deployment["id"]]}}}
    return int(api._call("POST", "flow_runs/count", json=body))


def _day_month_swapped(csv: str) -> str:
    """Dates written as M/D/YYYY with every day at most 12: each fits M/D and D/M."""
    import re

    def swap(match: re.Match) -> str:
        year, month, day = match.groups()
        return f"{int(month)}/{min(int(day), 12)}/{year}"

    return re.sub(r"(\d{4})-(\d{2})-(\d{2})", swap, csv)


def _wait_ready(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=5).status_code == 200:
                return
        time.sleep(2)
    raise AssertionError(f"{url} not ready after {timeout_s}s")


def _page_in_browser(browser, url: str) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(1280, 3200)
    browser.get(url)
    body = lambda b: b.find_element(By.TAG_NAME, "body").text  # noqa: E731
    WebDriverWait(browser, 90).until(lambda b: "Retraining rules" in body(b))
    time.sleep(2)  # the charts draw after the text
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "app_monitoring_replay.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    return body(browser)


def test_demo_replay_closes_the_loop(platform_env, browser) -> None:
    base = int(platform_env["OPSCTL_NETWORK__PORT_BASE"])
    _wait_ready(f"http://127.0.0.1:{base + 30}/ready")  # serving follows the alias

    done = _opsctl(
        platform_env, "demo", "replay", "--env", "local", "--months", "3", "--rows", "200",
        "--settle-months", "0", "--output", "json",
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "generated data" in done.stderr
    replay = json.loads(done.stdout)["replay"]
    assert replay["status"] == "finished" and replay["generated"] is True
    monitored = replay["months_monitored"]
    assert [m["month"] for m in monitored] == replay["months"]
    assert [m["rows_scored"] for m in monitored] == [200, 200, 200]
    assert all(m["generated"] for m in monitored)
    assert (
        monitored[0]["estimated_brier"] is not None and monitored[0]["realised_brier"] is not None
    )
    assert len(replay["alerts"]) == 1, replay["alerts"]
    alert = replay["alerts"][0]
    assert alert["month"] == replay["months"][2] and "drift_share" in alert["text"]

    prefect = _prefect(platform_env)
    started = prefect.flow_runs({"flow_runs": {"tags": {"all_": ["monitoring"]}}})
    assert [r["id"] for r in started] == [alert["retraining"]["flow_run_id"]]
    deployment = prefect._call("GET", f"deployments/{started[0]['deployment_id']}")
    flow = prefect._call("GET", f"flows/{started[0]['flow_id']}")
    assert (flow["name"], deployment["name"]) == ("training", "monthly")

    status = _opsctl(platform_env, "monitor", "status", "--env", "local", "--output", "json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["replay"]["replay_id"] == replay["replay_id"]

    evidently = f"http://127.0.0.1:{base + 40}/api/projects"
    project = next(p for p in httpx.get(f"{evidently}/").json() if "generated data" in p["name"])
    names = {s["name"] for s in httpx.get(f"{evidently}/{project['id']}/snapshots").json()}
    assert {f"drift {m}" for m in replay["months"]} <= names

    page = _page_in_browser(browser, f"http://127.0.0.1:{base + 50}/monitoring")
    assert (
        "generated data" in page
        and "drift_share" in page
        and alert["retraining"]["flow_run_id"][:8] in page
    )


def _known_deals(env: dict[str, str], base: int) -> list[dict]:
    """Open deals of agents, products and accounts the served model was trained on
    (its tables in the platform's bucket, read as the app reads them)."""
    from workloads.app.choices import model_choices

    served = httpx.get(f"http://127.0.0.1:{base + 30}/version", timeout=10).json()
    secrets = json.loads((_state(env) / "secrets.json").read_text())
    keys = {"AWS_ACCESS_KEY_ID": secrets["s3-access-key"],
            "AWS_SECRET_ACCESS_KEY": secrets["s3-secret-key"],
            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{base}"}  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        for name, value in keys.items():
            patch.setenv(name, value)
        choices = model_choices("s3://crm-data", served["data"])
    assert choices, served
    return [{"opportunity_id": f"AUDIT{i}", "sales_agent": agent, "product": choices["products"][0],
             "account": choices["accounts"][0], "deal_stage": "Engaging",
             "engage_date": "2017-10-02", "as_of_date": "2017-12-31"}
            for i, agent in enumerate(choices["agents"][:3])]  # fmt: skip


def test_nothing_left_the_platform(platform_env) -> None:
    """``up`` (with its bootstrap pipeline), the runs and the replay above, and a
    prediction here: with usage reporting off by default, no process of the platform
    (opsctl, MLflow, Prefect server, worker and flow runs, the prediction service, the
    app, the Evidently UI) tried to reach anything but loopback."""
    base = int(platform_env["OPSCTL_NETWORK__PORT_BASE"])
    _wait_ready(f"http://127.0.0.1:{base + 30}/ready")
    key = json.loads((_state(platform_env) / "secrets.json").read_text())["serving-api-key"]
    scored = httpx.post(f"http://127.0.0.1:{base + 30}/invocations",
                        json={"dataframe_records": _known_deals(platform_env, base)},
                        headers={"X-API-Key": key}, timeout=60)  # fmt: skip
    assert scored.status_code == 200, scored.text[:500]
    _wait_ready(f"http://127.0.0.1:{base + 50}/_stcore/health")

    log = ISOLATION["log"]
    watched = watched_commands(log)
    for command in ("ops_cli", "mlflow server", "prefect server start", "prefect worker start",
                    "workloads.serving", "streamlit run", "evidently ui"):  # fmt: skip
        assert any(command in line for line in watched), (command, sorted(set(watched)))
    assert any("prefect.engine" in line or "flow" in line for line in watched), watched
    assert attempts(log) == []
    if ISOLATION["namespace"]:
        # the kernel refused what no hook watches (weed is a Go program)
        storage_log = (_state(platform_env) / "logs" / "storage.log").read_text()
        assert "telemetry" not in storage_log.lower(), storage_log[-2000:]
