"""Benchmark: the prediction service beside `mlflow models serve`, same model, same load.

For each model family (logistic regression, gradient boosting) one model is
trained on generator data, logged the way the pipeline logs it and registered
with alias ``champion`` in a private MLflow store, then served twice on
loopback: by ``python -m workloads.serving`` and by ``mlflow models serve
--env-manager local`` (one uvicorn worker each, OpenMP held to one thread for
both; the service also writes its prediction log to a local folder). wrk sends the same MLflow ``dataframe_split`` body to ``/invocations``
of both, one row and 100 rows, twice: one connection (latency) and
``--connections`` connections (throughput). The service's own ``/predict`` is
measured the same way. The floor is measured in process: the fitted
classifier's ``predict_proba`` on one already-encoded row, and the
scikit-learn pipeline on a one-row DataFrame.

Targets: single-row throughput >= 5x mlflow serve at no worse error rate,
p99 at most a fifth, single-row p50 (one connection) within 2 ms of the floor.

    python benchmarks/serving.py [--duration 10] [--connections 8] [--families logistic boosting]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/sklearn load OpenMP

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd
from _machine import machine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import free_port_base  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "serving.json"
MODEL = "crm-win-probability"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY_FILE"), "rb")
wrk.body = f:read("*a")
f:close()
"""


def register_model(folder: Path, trials: int, family: str) -> tuple[str, object, pd.DataFrame]:
    """Train ``family`` on generator data, log and register it as the champion;
    returns (tracking URI, fitted pipeline, evaluation inputs)."""
    import mlflow
    from mlflow import MlflowClient

    from ml.data import schema as s
    from ml.data.synthetic import GeneratorConfig, generate_csv_files
    from ml.features import CrmTables
    from ml.modeling.tracking import log_training
    from ml.modeling.train import train
    from ml.settings import PipelineSettings, TrainingSettings
    from ml.validation import validate_files

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    settings = PipelineSettings(training=TrainingSettings(trials=trials, families=(family,)))
    mlflow.create_experiment(settings.registry.experiment, (folder / "artifacts").as_uri())
    clean = validate_files(generate_csv_files(GeneratorConfig(rows=8800, seed=42))).tables
    tables = CrmTables(clean[s.PIPELINE], clean[s.ACCOUNTS], clean[s.PRODUCTS], clean[s.TEAMS])
    result = train(tables, settings.training)
    _run, model_uri = log_training(result, run_name="benchmark", settings=settings, data={})
    version = mlflow.register_model(model_uri, MODEL).version
    MlflowClient().set_registered_model_alias(MODEL, "champion", version)
    return uri, result.pipeline, result.eval_inputs


def bodies(inputs: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """Request bodies: MLflow ``dataframe_split`` and ``/predict``, 1 and 100 rows."""
    complete = inputs.dropna().reset_index(drop=True)
    files = {}
    for rows in (1, 100):
        frame = complete.head(rows).copy()
        for column in ("engage_date", "as_of_date"):
            frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        split = {"dataframe_split": frame.to_dict(orient="split", index=False)}
        predict = {"opportunities": frame.to_dict(orient="records")}
        for name, body in ((f"split-{rows}", split), (f"predict-{rows}", predict)):
            files[name] = folder / f"{name}.json"
            files[name].write_text(json.dumps(body))
    return files


def start(command: list[str], env: dict[str, str], ready_url: str, log: Path) -> subprocess.Popen:
    """Start a server and wait (up to 120 s) until ``ready_url`` answers 200."""
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command[:4]} exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    process.terminate()
    raise SystemExit(f"{ready_url} not ready after 120 s; see {log}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def check(url: str, body: Path) -> None:
    """One request must succeed before the load starts."""
    response = httpx.post(
        url, content=body.read_bytes(), headers={"Content-Type": "application/json"}
    )
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.text[:500]}")


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * UNITS[unit]


def wrk(url: str, body: Path, connections: int, duration: int, script: Path) -> dict[str, float]:
    """Run wrk; throughput, p50/p99 (ms) and error rate from its report."""
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        env={**os.environ, "BODY_FILE": str(body)},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad += sum(int(n) for n in socket.groups()) if socket else 0
    return {
        "requests": total,
        "throughput_rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99_ms": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
        "errors": bad,
        "error_rate": bad / total if total else 1.0,
    }


def median_ms(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e3


def floor(pipeline, inputs: pd.DataFrame) -> dict[str, float]:
    """In-process single-row costs: bare classifier on an encoded row, the fast
    scorer end to end, the sklearn pipeline on a one-row DataFrame."""
    from tests.workloads.serving.test_serving_scorer import raw_rows
    from workloads.serving.scorer import FastScorer

    one = inputs.dropna().head(1)
    scorer = FastScorer(pipeline)
    rows, ids = raw_rows(one), list(one["opportunity_id"])
    encoded = scorer.encode(rows)
    classifier = scorer._classifier
    return {
        "estimator_predict_one_encoded_row_ms": median_ms(
            lambda: classifier.predict_proba(encoded), 2000
        ),
        "fast_scorer_one_row_ms": median_ms(lambda: scorer.predict(rows, ids), 2000),
        "sklearn_pipeline_one_row_dataframe_ms": median_ms(
            lambda: pipeline.predict_proba(one), 300
        ),
    }


def servers(folder: Path, tracking_uri: str) -> dict[str, tuple[list[str], dict[str, str], str]]:
    base = free_port_base(start=24000, size=2)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "OMP_NUM_THREADS": "1", "PATH": path}
    ours_env = {**env, "SERVING_MODEL_NAME": MODEL, "SERVING_MODEL_ALIAS": "champion",
                "SERVING_PREDICTIONS_URL": (folder / "predictions").as_uri()}  # fmt: skip
    ours = [sys.executable, "-m", "workloads.serving", "--host", "127.0.0.1", "--port", str(base),
            "--log-level", "warning"]  # fmt: skip
    mlflow_cmd = [str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m",
                  f"models:/{MODEL}@champion", "--env-manager", "local", "-h", "127.0.0.1",
                  "-p", str(base + 1)]  # fmt: skip
    return {
        "serving": (ours, ours_env, f"http://127.0.0.1:{base}"),
        "mlflow": (mlflow_cmd, env, f"http://127.0.0.1:{base + 1}"),
    }


def measure(name: str, spec, files, args, folder: Path, script: Path) -> dict[str, dict]:
    command, env, url = spec
    ready = f"{url}/ready" if name == "serving" else f"{url}/ping"
    process = start(command, {**env, "PYTHONPATH": str(REPO)}, ready, folder / f"{name}.log")
    cases = [("invocations", "split")] + ([("predict", "predict")] if name == "serving" else [])
    results = {}
    try:
        for path, kind in cases:
            for rows in (1, 100):
                body = files[f"{kind}-{rows}"]
                check(f"{url}/{path}", body)
                for label, connections in (("latency", 1), ("load", args.connections)):
                    key = f"{path}/{rows}-row/{label}"
                    results[key] = wrk(f"{url}/{path}", body, connections, args.duration, script)
                    print(name, key, results[key], flush=True)
    finally:
        stop(process)
    return results


def ratios(ours: dict, mlflow: dict, floors: dict) -> dict[str, float]:
    def pick(results: dict, key: str, field: str) -> float:
        return results[key][field]

    single = "invocations/1-row/load"
    return {
        "throughput_x_single_row": pick(ours, single, "throughput_rps")
        / pick(mlflow, single, "throughput_rps"),
        "throughput_x_100_rows": pick(ours, "invocations/100-row/load", "throughput_rps")
        / pick(mlflow, "invocations/100-row/load", "throughput_rps"),
        "p99_fraction_single_row": pick(ours, single, "p99_ms") / pick(mlflow, single, "p99_ms"),
        "p99_fraction_100_rows": pick(ours, "invocations/100-row/load", "p99_ms")
        / pick(mlflow, "invocations/100-row/load", "p99_ms"),
        "predict_single_row_p50_over_floor_ms": pick(ours, "predict/1-row/latency", "p50_ms")
        - floors["estimator_predict_one_encoded_row_ms"],
        "invocations_single_row_p50_over_floor_ms": pick(
            ours, "invocations/1-row/latency", "p50_ms"
        )
        - floors["estimator_predict_one_encoded_row_ms"],
    }


def run_family(family: str, args: argparse.Namespace) -> dict[str, object]:
    """Every measurement for one model family, in a private MLflow store."""
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        folder = Path(tmp)
        tracking_uri, pipeline, inputs = register_model(folder, args.trials, family)
        files = bodies(inputs, folder)
        script = folder / "post.lua"
        script.write_text(WRK_SCRIPT)
        before = floor(pipeline, inputs)
        specs = servers(folder, tracking_uri)
        results = {
            name: measure(name, spec, files, args, folder, script) for name, spec in specs.items()
        }
        after = floor(pipeline, inputs)
        # the machine is shared: the floor is the mean of one measurement before
        # and one after the servers ran
        floors = {k: (before[k] + after[k]) / 2 for k in before}
        print(family, "floor", before, after, flush=True)
        logged = sum(len(pd.read_parquet(p)) for p in (folder / "predictions").rglob("*.parquet"))
    return {
        "floor": floors,
        "floor_before_and_after": [before, after],
        "serving": results["serving"],
        "mlflow_models_serve": results["mlflow"],
        "ratios": ratios(results["serving"], results["mlflow"], floors),
        "prediction_log_rows_written": logged,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--families", nargs="+", default=["logistic", "boosting"])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    started = machine()
    families = {family: run_family(family, args) for family in args.families}
    report = {
        "machine": started,
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "settings": {**vars(args), "omp_num_threads": 1, "workers": 1},
        "families": families,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({f: r["ratios"] for f, r in families.items()}, indent=2))


if __name__ == "__main__":
    main()
