"""Benchmark: what the durable prediction log costs the prediction service.

The same registered model (trained on generator data, as ``serving.py`` does)
is served twice at once on loopback: with its prediction log (the spool on this
machine's disk, policy ``--fsync``: ``always``, every answered batch fsync'd
before the response, by default; ``everysec``, the service's default, written
before it; spool segments uploaded as parquet to a local folder) and without it
(``SERVING_PREDICTIONS_URL`` unset). wrk posts the same ``/predict`` body, one
and 100 rows, over one connection (latency), ``--connections`` (load) and
``--heavy-connections`` (heavy); the two servers' runs are interleaved
``--repeats`` times, the order flipped each time, and medians are reported
with the cost (spool minus no log) and the throughput ratio. The spool's fsyncs per request, read from ``/metrics``
around each run, show the group commit: under load one fsync covers several
requests.

    python benchmarks/serving_log.py [--duration 5] [--repeats 3] [--connections 8]
                                     [--heavy-connections 64]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/sklearn load OpenMP

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import httpx
from _machine import machine
from serving import (
    REPO,
    WRK_SCRIPT,
    bodies,
    check,
    free_port_base,
    register_model,
    servers,
    start,
    stop,
    wrk,
)

RESULTS = REPO / "benchmarks" / "results" / "serving_log.json"
sys.path.insert(0, str(REPO))
from workloads.serving.scorer import build_scorer  # noqa: E402


def log_cost(family: str, args: argparse.Namespace) -> dict[str, object]:
    """/predict with the durable log and without it: both servers up at once, runs
    interleaved ``--repeats`` times (the order flipped each time), medians."""
    with tempfile.TemporaryDirectory(prefix="bench-serving-log-") as tmp:
        folder = Path(tmp)
        tracking_uri, pipeline, inputs = register_model(folder, args.trials, family)
        files = bodies(inputs, folder, build_scorer(pipeline))
        script = folder / "post.lua"
        script.write_text(WRK_SCRIPT)
        command, env, url = servers(folder, tracking_uri)["serving"]
        env = {**env, "SERVING_SPOOL_FSYNC": args.fsync}
        port = int(url.rsplit(":", 1)[1])
        bare_url = f"http://127.0.0.1:{free_port_base(start=port + 2, size=1)}"
        bare_env = {
            k: v
            for k, v in env.items()
            if not k.startswith(("SERVING_PREDICTIONS", "SERVING_SPOOL"))
        }
        bare_command = [*command[:-4], "--port", bare_url.rsplit(":", 1)[1], *command[-2:]]
        urls = {"spool": url, "no_log": bare_url}
        processes = [
            start(command, {**env, "PYTHONPATH": str(REPO)}, f"{url}/ready", folder / "spool.log"),
            start(bare_command, {**bare_env, "PYTHONPATH": str(REPO)}, f"{bare_url}/ready",
                  folder / "no_log.log"),
        ]  # fmt: skip
        runs: dict[str, list[dict]] = {}
        try:
            for repeat in range(args.repeats):
                order = ["spool", "no_log"] if repeat % 2 == 0 else ["no_log", "spool"]
                for rows in (1, 100):
                    for label, connections in (("latency", 1), ("load", args.connections),
                                               ("heavy", args.heavy_connections)):  # fmt: skip
                        for name in order:
                            body = files[f"predict-{rows}"]
                            check(f"{urls[name]}/predict", body)
                            before = spool_counts(urls[name])
                            result = wrk(f"{urls[name]}/predict", body, connections,
                                         args.duration, script)  # fmt: skip
                            after = spool_counts(urls[name])
                            fsyncs = after["fsyncs"] - before["fsyncs"]
                            requests = after["requests"] - before["requests"]
                            result["requests_per_fsync"] = requests / fsyncs if fsyncs else 0.0
                            runs.setdefault(f"{name}/{rows}-row/{label}", []).append(result)
                            print(family, name, rows, label, result, flush=True)
        finally:
            for process in processes:
                stop(process)
    medians = {key: median_of(results) for key, results in runs.items()}
    return {"medians": medians, "runs": runs, "ratios": log_ratios(medians)}


def median_of(results: list[dict]) -> dict[str, float]:
    """The median of each figure over ``results`` (all with the same keys)."""
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def spool_counts(url: str) -> dict[str, float]:
    """Requests answered by /predict and spool fsyncs so far, from /metrics."""
    text = httpx.get(f"{url}/metrics").text
    answered = re.findall(  # one line per model version that answered
        r'^serving_requests_total\{method="POST",model_version="[^"]*",path="/predict",'
        r'status="200"\} (\S+)', text, re.M,
    )  # fmt: skip
    syncs = re.search(r"^serving_prediction_log_spool_syncs_total (\S+)", text, re.M)
    return {"requests": sum(float(n) for n in answered),
            "fsyncs": float(syncs.group(1)) if syncs else 0.0}  # fmt: skip


def log_ratios(medians: dict[str, dict]) -> dict[str, float]:
    """What the prediction log costs per case: added p50 and p99 latency (ms), throughput ratio
    against no log, requests per fsync."""
    out: dict[str, float] = {}
    cases = [f"{rows}-row/{label}" for rows in (1, 100) for label in ("latency", "load", "heavy")]
    for case in cases:
        spool, bare = medians[f"spool/{case}"], medians[f"no_log/{case}"]
        out[f"{case}/p50_cost_ms"] = spool["p50_ms"] - bare["p50_ms"]
        out[f"{case}/p99_cost_ms"] = spool["p99_ms"] - bare["p99_ms"]
        out[f"{case}/throughput_ratio"] = spool["throughput_rps"] / bare["throughput_rps"]
        out[f"{case}/requests_per_fsync"] = spool["requests_per_fsync"]
    return out


def main() -> None:
    """Measure the service with and without its prediction log on each family and print the costs as
    JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs per case")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--heavy-connections", type=int, default=64)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--families", nargs="+", default=["logistic", "boosting"])
    parser.add_argument(
        "--fsync",
        choices=("everysec", "always"),
        default="always",
        help="the spool's policy (SERVING_SPOOL_FSYNC) of the logging server",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    started = machine()
    families = {family: log_cost(family, args) for family in args.families}
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
