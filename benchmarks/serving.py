"""Benchmark: the prediction service beside what a user would run instead, same model,
same load.

For each model family (logistic regression, gradient boosting, and the baseline
served as the model) one model is trained on generator data, logged the way the
pipeline logs it (with its compiled model) and registered with alias
``champion`` in a private MLflow store, then served on loopback by:

- ``python -m workloads.serving`` with one worker and with two (``SERVING_WORKERS``;
  the service writes its prediction log to a local folder, spool policy
  ``everysec``, the default), and with one worker and ``SERVING_SPOOL_FSYNC=always``
  (every answer waits for an ``fsync``);
- ``mlflow models serve --env-manager local``;
- a plain FastAPI server around ``joblib.load`` of the same pipeline
  (``plain_servers.py joblib``);
- a plain FastAPI server of the bare classifier on already-encoded rows
  (``plain_servers.py bare``): the HTTP stack's own ceiling.

OpenMP is held to one thread everywhere. Every server runs at once; wrk sends
the same MLflow ``dataframe_split`` body to ``/invocations`` (the bare server:
the same rows, encoded), one row and 100 rows, twice: one connection (latency)
and ``--connections`` connections (load), each case to each server in turn,
``--rounds`` times (the order rotated each round). The machine may be shared:
figures are medians over the rounds, a ratio is the median of the ratios of runs
in the same round, and each run also counts requests per CPU-second of the
server's processes. The service's own ``/predict`` is measured the same way. The floors are measured in process: the bare
classifier on one encoded row, the compiled model on it, the service's
compiled scorer end to end (features included), the earlier fast path, and
the scikit-learn pipeline on a one-row DataFrame.

Targets: in-process single-row scoring, features included, at most 0.3 ms;
boosting's single-row p50 within 1.3x logistic's and within 1 ms of its
compiled floor; single-row throughput >= 5x mlflow serve and >= 5x the plain
joblib server at no worse error rate, >= 0.8x the bare-classifier server;
two workers >= 1.6x one.

What the durable prediction log costs is measured by ``serving_log.py``.

    python benchmarks/serving.py [--duration 3] [--rounds 3] [--connections 8] [--families logistic boosting baseline]
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
import psutil
from _machine import machine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import free_port_base  # noqa: E402
from workloads.serving.scorer import raw_rows  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "serving.json"
PORT_START = int(os.environ.get("OPSCTL_TEST_PORT_START", "24000"))
MODEL = "crm-win-probability"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
API_KEY = "benchmark-api-key"
"""The service runs as in every environment, with its API key checked on each request
(MLflow's server ignores the header)."""

WRK_SCRIPT = f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "{API_KEY}"
local f = io.open(os.getenv("BODY_FILE"), "rb")
wrk.body = f:read("*a")
f:close()
"""


def register_model(folder: Path, trials: int, family: str) -> tuple[str, object, pd.DataFrame]:
    """Train ``family`` on generator data (``baseline``: logistic regression, then its
    best baseline is what is logged), log and register it as the champion; returns
    (tracking URI, fitted pipeline, evaluation inputs)."""
    from dataclasses import replace

    import mlflow
    from mlflow import MlflowClient

    from ml.data import schema as s
    from ml.data.synthetic import GeneratorConfig, generate_csv_files
    from ml.features import CrmTables
    from ml.modeling.baseline import baseline_pipeline, best_baseline
    from ml.modeling.tracking import log_baseline, log_training
    from ml.modeling.train import train
    from ml.settings import TrainingSettings
    from ml.validation import validate_files
    from workloads.flows.settings import PipelineSettings

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    trained = "logistic" if family == "baseline" else family
    training = TrainingSettings(trials=trials, families=(trained,))
    settings = replace(PipelineSettings().for_ml(), training=training)
    mlflow.create_experiment(settings.registry.experiment, (folder / "artifacts").as_uri())
    clean = validate_files(generate_csv_files(GeneratorConfig(rows=8800, seed=42))).tables
    tables = CrmTables(clean[s.PIPELINE], clean[s.ACCOUNTS], clean[s.PRODUCTS], clean[s.TEAMS])
    result = train(tables, settings.training)
    if family == "baseline":
        name = best_baseline(result)
        _run, model_uri = log_baseline(result, name, run_name="benchmark", settings=settings,
                                       data={})  # fmt: skip
        pipeline = baseline_pipeline(result, name)
    else:
        _run, model_uri = log_training(result, run_name="benchmark", settings=settings, data={})
        pipeline = result.pipeline
    version = mlflow.register_model(model_uri, MODEL).version
    MlflowClient().set_registered_model_alias(MODEL, "champion", version)
    return uri, pipeline, result.eval_inputs


def bodies(inputs: pd.DataFrame, folder: Path, scorer) -> dict[str, Path]:
    """Request bodies, 1 and 100 rows: MLflow ``dataframe_split``, ``/predict``, and the
    same rows already encoded for the bare classifier (``encoded-N``)."""
    complete = inputs.dropna().reset_index(drop=True)
    files = {}
    for rows in (1, 100):
        frame = complete.head(rows).copy()
        encoded = classifier_input(scorer, raw_rows(frame))
        files[f"encoded-{rows}"] = folder / f"encoded-{rows}.json"
        files[f"encoded-{rows}"].write_text(json.dumps({"rows": encoded.tolist()}))
        for column in ("engage_date", "as_of_date"):
            frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        split = {"dataframe_split": frame.to_dict(orient="split", index=False)}
        predict = {"opportunities": frame.to_dict(orient="records")}
        for name, body in ((f"split-{rows}", split), (f"predict-{rows}", predict)):
            files[name] = folder / f"{name}.json"
            files[name].write_text(json.dumps(body))
    return files


def start(command: list[str], env: dict[str, str], ready_url: str, log: Path) -> subprocess.Popen:
    """Start a server and wait (up to 300 s: the machine may be shared) until ``ready_url`` answers 200."""
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
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
    raise SystemExit(f"{ready_url} not ready after 300 s; see {log}")


def stop(process: subprocess.Popen) -> None:
    """Stop ``process``: SIGTERM, then SIGKILL after 30 seconds."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def check(url: str, body: Path) -> None:
    """One request must succeed before the load starts."""
    response = httpx.post(
        url, content=body.read_bytes(),
        headers={"Content-Type": "application/json", "X-API-Key": API_KEY},
    )  # fmt: skip
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
    """The median wall time of ``call`` over ``runs`` calls, in milliseconds."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e3


def classifier_input(scorer, rows):
    """The bare classifier's input for ``rows``: encoded rows, or a baseline's numeric features."""
    categorical, numeric = scorer.features.transform(rows)
    encoder = scorer._encoder
    return numeric if encoder is None else encoder.transform(categorical, numeric)


def bare_classifier(pipeline, compiled_model):
    """The fitted classifier without calibration (a baseline: its compiled model, which
    reads the rate column of the numeric features)."""
    from ml.modeling.compiled import parts

    inner, _calibrators = parts(pipeline.named_steps["model"])
    return compiled_model if inner is None else inner.steps[1][1]


def floor(pipeline, inputs: pd.DataFrame) -> dict[str, float]:
    """In-process single-row costs: the bare classifier and the compiled model on an
    encoded row, the compiled scorer and the earlier fast path end to end (features
    included), the sklearn pipeline on a one-row DataFrame."""
    from workloads.serving.scorer import build_scorer, fast_scorer

    one = inputs.dropna().head(1)
    scorer = build_scorer(pipeline)
    assert scorer.kind == "compiled", scorer.compiled
    fast = fast_scorer(pipeline)
    rows, ids = raw_rows(one), list(one["opportunity_id"])
    encoded = classifier_input(scorer, rows)
    bare = bare_classifier(pipeline, scorer.model)
    call = bare.predict_proba if hasattr(bare, "predict_proba") else bare.predict
    return {
        "estimator_predict_one_encoded_row_ms": median_ms(lambda: call(encoded), 2000),
        "compiled_model_one_encoded_row_ms": median_ms(lambda: scorer.model.predict(encoded), 5000),
        "compiled_scorer_one_row_ms": median_ms(lambda: scorer.predict(rows, ids), 5000),
        "fast_scorer_one_row_ms": median_ms(lambda: fast.predict(rows, ids), 1000),
        "sklearn_pipeline_one_row_dataframe_ms": median_ms(
            lambda: pipeline.predict_proba(one), 200
        ),
    }


def servers(folder: Path, tracking_uri: str) -> dict[str, tuple[list[str], dict[str, str], str]]:
    """The servers compared, by name: (command, environment, base URL) of the prediction service,
    MLflow's scoring server and the plain FastAPI apps."""
    base = free_port_base(start=PORT_START, size=6)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "OMP_NUM_THREADS": "1", "PATH": path}

    def ours(
        port: int, workers: int, fsync: str = "everysec"
    ) -> tuple[list[str], dict[str, str], str]:
        logged = {"SERVING_MODEL_NAME": MODEL, "SERVING_MODEL_ALIAS": "champion",
                  "SERVING_PREDICTIONS_URL": (folder / "predictions").as_uri(),
                  "SERVING_SPOOL_DIR": str(folder / f"spool-{workers}-{fsync}"),
                  "SERVING_SPOOL_FSYNC": fsync,
                  "SERVING_WORKERS": str(workers), "SERVING_API_KEY": API_KEY}  # fmt: skip
        command = [sys.executable, "-m", "workloads.serving", "--host", "127.0.0.1",
                   "--port", str(port), "--log-level", "warning"]  # fmt: skip
        return command, {**env, **logged}, f"http://127.0.0.1:{port}"

    mlflow_cmd = [str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m",
                  f"models:/{MODEL}@champion", "--env-manager", "local", "-h", "127.0.0.1",
                  "-p", str(base + 2)]  # fmt: skip
    plain = str(REPO / "benchmarks" / "plain_servers.py")
    return {
        "serving": ours(base, 1),
        "serving_2_workers": ours(base + 1, 2),
        "serving_fsync_always": ours(base + 5, 1, "always"),
        "mlflow": (mlflow_cmd, env, f"http://127.0.0.1:{base + 2}"),
        "fastapi_joblib": ([sys.executable, plain, "joblib", str(folder / "pipeline.joblib"),
                            "--port", str(base + 3)], env, f"http://127.0.0.1:{base + 3}"),
        "fastapi_bare_classifier": ([sys.executable, plain, "bare", str(folder / "bare.joblib"),
                                     "--port", str(base + 4)], env, f"http://127.0.0.1:{base + 4}"),
    }  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its children so far."""
    process = psutil.Process(pid)
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


CASES = [(path, rows, label) for path in ("invocations", "predict") for rows in (1, 100)
         for label in ("latency", "load")]  # fmt: skip


def measure_all(specs, files, args, folder: Path, script: Path) -> dict[str, dict[str, dict]]:
    """Every server up at once; each case runs on each server in turn (order rotated
    every round), ``args.rounds`` rounds, so a comparison pairs runs minutes apart at
    most. Per server and case: the median of each figure, the runs, and requests per
    CPU-second of the server's processes (steadier than wall time on a shared machine)."""
    processes, urls = {}, {}
    try:
        for name, (command, env, url) in specs.items():
            ready = f"{url}/ready" if name.startswith("serving") else f"{url}/ping"
            log = folder / f"{name}.log"
            processes[name] = start(command, {**env, "PYTHONPATH": str(REPO)}, ready, log)
            urls[name] = url
        runs: dict[str, dict[str, list[dict]]] = {name: {} for name in specs}
        for path, rows, label in CASES:
            names = [n for n in specs if path == "invocations" or n == "serving"]
            key = f"{path}/{rows}-row/{label}"
            for name in names:
                kind = "encoded" if name == "fastapi_bare_classifier" else (
                    "predict" if path == "predict" else "split")  # fmt: skip
                check(f"{urls[name]}/{path}", files[f"{kind}-{rows}"])
            for round_ in range(args.rounds):
                shift = round_ % len(names)
                for name in names[shift:] + names[:shift]:
                    kind = "encoded" if name == "fastapi_bare_classifier" else (
                        "predict" if path == "predict" else "split")  # fmt: skip
                    connections = 1 if label == "latency" else args.connections
                    before = cpu_seconds(processes[name].pid)
                    result = wrk(f"{urls[name]}/{path}", files[f"{kind}-{rows}"], connections,
                                 args.duration, script)  # fmt: skip
                    used = cpu_seconds(processes[name].pid) - before
                    result["requests_per_cpu_second"] = result["requests"] / used if used else 0.0
                    result["round"] = round_
                    runs[name].setdefault(key, []).append(result)
                    print(name, key, result, flush=True)
    finally:
        for process in processes.values():
            stop(process)
    return {name: {key: summary(found) for key, found in cases.items()}
            for name, cases in runs.items()}  # fmt: skip


def summary(runs: list[dict]) -> dict:
    """The median of each figure over the rounds, errors summed, and the runs."""
    out = {field: statistics.median(r[field]
                                    for r in runs) for field in ("throughput_rps", "p50_ms", "p99_ms", "requests_per_cpu_second")}  # fmt: skip
    out["requests"] = sum(r["requests"] for r in runs)
    out["errors"] = sum(r["errors"] for r in runs)
    out["error_rate"] = out["errors"] / out["requests"] if out["requests"] else 1.0
    out["runs"] = runs
    return out


def paired(results: dict, a: str, b: str, key: str, field: str = "throughput_rps") -> float:
    """The median over rounds of ``a``'s figure over ``b``'s in the same round."""
    ours = {r["round"]: r[field] for r in results[a][key]["runs"]}
    theirs = {r["round"]: r[field] for r in results[b][key]["runs"]}
    pairs = [ours[i] / theirs[i] for i in ours if theirs.get(i)]
    return statistics.median(pairs) if pairs else float("nan")


def ratios(results: dict[str, dict], floors: dict) -> dict[str, float]:
    """The service against each anchor and two workers against one: medians of the
    ratios of runs in the same round; p50 figures over the floors (medians)."""

    def pick(name: str, key: str, field: str) -> float:
        return results[name][key][field]

    ours, single, hundred = "serving", "invocations/1-row/load", "invocations/100-row/load"
    out = {
        "throughput_x_single_row": paired(results, ours, "mlflow", single),
        "throughput_x_100_rows": paired(results, ours, "mlflow", hundred),
        "p99_fraction_single_row": paired(results, ours, "mlflow", single, "p99_ms"),
        "p99_fraction_100_rows": paired(results, ours, "mlflow", hundred, "p99_ms"),
        "predict_single_row_p50_over_floor_ms": pick(ours, "predict/1-row/latency", "p50_ms")
        - floors["estimator_predict_one_encoded_row_ms"],
        "invocations_single_row_p50_over_floor_ms": pick(
            ours, "invocations/1-row/latency", "p50_ms"
        )
        - floors["estimator_predict_one_encoded_row_ms"],
        "invocations_single_row_p50_over_compiled_floor_ms": pick(
            ours, "invocations/1-row/latency", "p50_ms"
        )
        - floors["compiled_scorer_one_row_ms"],
    }
    for key, rows in ((single, "single_row"), (hundred, "100_rows")):
        for anchor in ("fastapi_joblib", "fastapi_bare_classifier"):
            out[f"throughput_x_{anchor}_{rows}"] = paired(results, ours, anchor, key)
            out[f"cpu_efficiency_x_{anchor}_{rows}"] = paired(
                results, ours, anchor, key, "requests_per_cpu_second"
            )
        out[f"two_workers_over_one_{rows}"] = paired(results, "serving_2_workers", ours, key)
        out[f"fsync_always_over_everysec_{rows}"] = paired(
            results, "serving_fsync_always", ours, key
        )
        out[f"fsync_always_x_fastapi_bare_classifier_{rows}"] = paired(
            results, "serving_fsync_always", "fastapi_bare_classifier", key
        )
    return out


def run_family(family: str, args: argparse.Namespace) -> dict[str, object]:
    """Every measurement for one model family, in a private MLflow store."""
    import joblib

    from workloads.serving.scorer import build_scorer

    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        folder = Path(tmp)
        # native tree code is built into the run's folder, once for the floors and servers
        os.environ["CRM_NATIVE_CACHE_DIR"] = str(folder / "native-trees")
        tracking_uri, pipeline, inputs = register_model(folder, args.trials, family)
        scorer = build_scorer(pipeline)
        joblib.dump(pipeline, folder / "pipeline.joblib")
        joblib.dump(bare_classifier(pipeline, scorer.model), folder / "bare.joblib")
        files = bodies(inputs, folder, scorer)
        script = folder / "post.lua"
        script.write_text(WRK_SCRIPT)
        before = floor(pipeline, inputs)
        specs = servers(folder, tracking_uri)
        results = measure_all(specs, files, args, folder, script)
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
        "serving_2_workers": results["serving_2_workers"],
        "serving_fsync_always": results["serving_fsync_always"],
        "fastapi_joblib": results["fastapi_joblib"],
        "fastapi_bare_classifier": results["fastapi_bare_classifier"],
        "ratios": ratios({**results}, floors),
        "prediction_log_rows_written": logged,
    }


def floor_only(family: str, trials: int) -> dict[str, object]:
    """The in-process floors of ``family``'s model (trained and registered as for the
    full run; native tree code built first) and what its compiled scorer runs."""
    from workloads.serving.scorer import build_scorer

    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        os.environ.setdefault("CRM_NATIVE_CACHE_DIR", str(Path(tmp) / "native-trees"))
        _uri, pipeline, inputs = register_model(Path(tmp), trials, family)
        began = time.perf_counter()
        compiled = build_scorer(pipeline).compiled
        load_s = time.perf_counter() - began
        return {"compiled": compiled, "scorer_load_s": load_s, "floor": floor(pipeline, inputs)}


def across(families: dict[str, dict]) -> dict[str, float]:
    """Boosting's single-row p50 against logistic regression's (the same run)."""
    if not {"boosting", "logistic"} <= set(families):
        return {}
    key = "invocations/1-row/latency"
    p50 = {f: families[f]["serving"][key]["p50_ms"] for f in ("boosting", "logistic")}
    return {"boosting_over_logistic_single_row_p50": p50["boosting"] / p50["logistic"]}


def main() -> None:
    """Measure every server on each family and print medians and ratios as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each case per server")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--families", nargs="+", default=["logistic", "boosting", "baseline"])
    parser.add_argument(
        "--floor-only",
        action="store_true",
        help="only the in-process single-row floors, printed (nothing written)",
    )
    args = parser.parse_args()
    if args.floor_only:
        for family in args.families:
            print(json.dumps({"family": family, **floor_only(family, args.trials)}), flush=True)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    started = machine()
    families = {family: run_family(family, args) for family in args.families}
    report = {
        "machine": started,
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "settings": {**vars(args), "omp_num_threads": 1, "workers": [1, 2]},
        "families": families,
        "across_families": across(families),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({f: r["ratios"] for f, r in families.items()}, indent=2))
    print(json.dumps(report["across_families"]))


if __name__ == "__main__":
    main()
