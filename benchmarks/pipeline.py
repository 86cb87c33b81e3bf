"""Benchmark: the whole pipeline on generated data, wall time and peak memory per stage.

Stages: generate (CSV files), acquire (land in storage), validate, snapshot,
features (point-in-time, every labelled month-end), train (tuning included),
log+register (MLflow, local sqlite store). Peak memory is the process's peak
RSS during each stage (psutil, sampled every 20 ms); tracemalloc is not used
because its tracing slows the stages it measures several times over. Writes benchmarks/results/pipeline.json.

    python benchmarks/pipeline.py [--rows 8800 880000] [--trials 20] [--large-trials 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from _machine import REPORTING_OFF  # noqa: F401 (importing it turns usage reporting off)

RESULTS = Path(__file__).parent / "results" / "pipeline.json"


class PeakRss:
    """Samples the process RSS in a thread; ``peak`` is the highest seen."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def stage(record: dict[str, Any], name: str):
    """Time the ``with`` block and its peak RSS into ``record[name]`` (``wall_s``, ``peak_rss_mb``),
    and print them."""
    with PeakRss() as rss:
        began = time.perf_counter()
        yield
        elapsed = time.perf_counter() - began
    record[name] = {
        "wall_s": round(elapsed, 3),
        "peak_rss_mb": round(rss.peak / 2**20, 1),
    }
    print(f"  {name:<12} {elapsed:8.2f} s  peak RSS {rss.peak / 2**20:8.1f} MB", flush=True)


def run(rows: int, trials: int, workdir: Path) -> dict[str, Any]:
    """The pipeline's stages (acquire, validate, features, train, log and gate) on ``rows``
    generated rows with ``trials`` trials per family: each stage's wall time and peak RSS, by
    stage name."""
    from dataclasses import replace

    import mlflow

    from ml.data import schema as s
    from ml.data.acquire import acquire, read_raw
    from ml.data.sources import SyntheticSource
    from ml.data.synthetic import GeneratorConfig
    from ml.features import CrmTables, PointInTimeFeatures
    from ml.modeling.registry import Logged, register_and_gate
    from ml.modeling.splits import time_splits
    from ml.modeling.tracking import log_training
    from ml.modeling.train import train
    from ml.settings import TrainingSettings
    from ml.snapshots import latest_month, month_end, snapshot
    from ml.validation import validate_files
    from workloads.flows.settings import PipelineSettings

    url = f"file://{workdir}/data"
    settings = replace(
        PipelineSettings().for_ml(), data_url=url, training=TrainingSettings(trials=trials)
    )
    mlflow.set_tracking_uri(f"sqlite:///{workdir}/mlflow.db")
    os.chdir(workdir)
    stages: dict[str, Any] = {}
    print(f"{rows} rows, {trials} trials per family", flush=True)
    began = time.perf_counter()
    source = SyntheticSource(GeneratorConfig(rows=rows))
    with stage(stages, "generate"):
        files = source.fetch()
    with stage(stages, "acquire"):
        landed = acquire(source, url)
        files, _manifest = read_raw(url, landed.version)
    with stage(stages, "validate"):
        result = validate_files(files)
        del files
    with stage(stages, "snapshot"):
        deals = snapshot(
            result.tables[s.PIPELINE], month_end(latest_month(result.tables[s.PIPELINE]))
        )
        tables = CrmTables(deals, result.tables[s.ACCOUNTS], result.tables[s.PRODUCTS],
                           result.tables[s.TEAMS])  # fmt: skip
    with stage(stages, "features"):
        splits = time_splits(deals, 3, 2)
        fitted = PointInTimeFeatures().fit(tables=tables)
        for part in (splits.train, splits.val, splits.eval):
            fitted.transform(part)
    labelled = len(splits.train) + len(splits.val) + len(splits.eval)
    with stage(stages, "train"):
        trained = train(tables, settings.training)
    with stage(stages, "log_register"):
        data = {"version": landed.version}
        run_id, uri = log_training(trained, run_name="bench", settings=settings, data=data)
        register_and_gate(trained, Logged(run_id, uri, "bench", data), settings)
    return {
        "rows": rows,
        "labelled_rows": labelled,
        "trials_per_family": trials,
        "end_to_end_s": round(time.perf_counter() - began, 2),
        "peak_rss_mb": max(v["peak_rss_mb"] for v in stages.values()),
        "stages": stages,
        "eval_roc_auc": round(trained.eval_metrics["roc_auc"], 4),
        "chosen_family": trained.family,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the pipeline at each ``--rows`` size and print the stages' figures as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[8800, 880_000])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument(
        "--large-trials", type=int, default=5, help="trials per family above 100,000 rows"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    runs = []
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            trials = args.trials if rows <= 100_000 else args.large_trials
            runs.append(run(rows, trials, Path(tmp)))
    small = next((r for r in runs if r["rows"] == 8800), None)
    large = next((r for r in runs if r["rows"] == 880_000), None)
    targets: dict[str, Any] = {}
    if small:
        targets["end_to_end_8800_under_60s"] = small["end_to_end_s"] < 60
    if small and large:
        ratio = large["stages"]["features"]["wall_s"] / small["stages"]["features"]["wall_s"]
        targets["features_880k_over_8800_ratio"] = round(ratio, 1)
        targets["features_ratio_under_100x"] = ratio < 100
    if large:
        targets["peak_rss_880k_under_4gb"] = large["peak_rss_mb"] < 4096
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "runs": runs,
        "targets": targets,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(targets, indent=2))


if __name__ == "__main__":
    main()
