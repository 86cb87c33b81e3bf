"""Benchmark: one month of 100,000 logged predictions through the monthly monitoring run,
side by side with Evidently's own drift report on the same frame.

- ``monthly``: what the monitoring flow computes for a month just scored (no deal has
  closed yet), without Prefect: read the month's prediction log (30 day partitions of
  parquet), drift report (Evidently), drift of the 12 segments (regional office,
  manager, product series), CBPE estimates (NannyML) for the month and every segment,
  and the drift snapshot saved to an Evidently workspace.
- ``evidently``: Evidently's ``DataDriftPreset`` plus ``ValueDrift`` of the prediction on
  the same month and reference frames, alone: what a user would run instead.
- ``labelled``: ``monthly`` once 60% of the month's deals have closed: realised
  performance for the month and each segment and Evidently's classification report
  join in (shown beside, not part of the target).

Each side runs in its own process (so peak memory is its own), in turn, ``--runs``
times after one warm-up round; the figures are medians and the ratio is taken pair by
pair. Wall time excludes interpreter start and imports; CPU time (the process's, all
threads) is reported beside it because on a shared machine it moves far less. Writes
``benchmarks/results/monitoring.json``.

    python benchmarks/monitoring.py [--rows 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._machine import machine

RESULTS = Path(__file__).parent / "results" / "monitoring.json"
SIDES = ("evidently", "monthly", "labelled")
MONTH = "2018-01"


def _probability(frame: Any) -> Any:
    """A stand-in model: a calibrated-looking probability from agent and product."""
    import numpy as np

    agent = frame["sales_agent"].astype(str).map(lambda a: (hash(a) % 7) / 20.0)
    product = frame["product"].astype(str).map(lambda p: (hash(p) % 5) / 25.0)
    z = agent.to_numpy(float) + product.to_numpy(float) + 0.3
    return 1 / (1 + np.exp(-z))


def prepare(workdir: Path, rows: int) -> None:
    """Reference rows, a month of ``rows`` logged predictions (30 day partitions) with
    mild drift, and the outcomes of 60% of them."""
    import numpy as np
    import pandas as pd

    from ml.data.synthetic import GeneratorConfig, generate
    from ml.features.rows import labelled_rows
    from ml.snapshots import month_end
    from workloads.monitoring import replay
    from workloads.monitoring.reference import Reference
    from workloads.monitoring.segments import SegmentLookup

    tables = generate(GeneratorConfig(rows=8800, seed=5))
    deals = tables["sales_pipeline"].replace({"product": {"GTXPro": "GTX Pro"}})
    ends = [month_end(m) for m in ("2017-08", "2017-09", "2017-10", "2017-11")]
    reference_rows = labelled_rows(deals, ends, pd.Timestamp("2017-12-31"))
    reference_rows["win_probability"] = _probability(reference_rows)
    lookup = SegmentLookup.from_tables(tables["sales_teams"], tables["products"])
    reference = Reference("bench", "1", lookup.label(reference_rows), lookup, "v", "2017-12")
    reference.rows.to_parquet(workdir / "reference.parquet", index=False)
    (workdir / "lookup.json").write_text(json.dumps(lookup.as_dict()))

    plan = replay.ReplayPlan("bench", "B-", [MONTH], [0.3], rows, 11)
    month = replay.month_deals(plan, 0, reference, np.random.default_rng(11))
    month["win_probability"] = _probability(month)
    days = np.arange(len(month)) % 30
    for day in range(30):
        part = workdir / "log" / f"date={MONTH}-{day + 1:02d}" / "hour=12"
        part.mkdir(parents=True)
        month[days == day].drop(columns="replay_month").to_parquet(
            part / "part.parquet", index=False
        )
    rng = np.random.default_rng(12)
    closed = month[rng.random(len(month)) < 0.6]
    pd.DataFrame(
        {
            "opportunity_id": closed["opportunity_id"],
            "won": (rng.random(len(closed)) < closed["win_probability"]).astype(int),
            "close_date": pd.Timestamp("2018-02-15"),
        }
    ).to_parquet(workdir / "outcomes.parquet", index=False)


def _reference(workdir: Path) -> Any:
    import pandas as pd

    from workloads.monitoring.reference import Reference
    from workloads.monitoring.segments import SegmentLookup

    lookup = SegmentLookup.from_dict(json.loads((workdir / "lookup.json").read_text()))
    rows = pd.read_parquet(workdir / "reference.parquet")
    return Reference("bench", "1", rows, lookup, "v", "2017-12")


def _import_libraries() -> None:
    """The libraries the monitoring modules import on first use."""
    import evidently.legacy.calculations.stattests.registry
    import evidently.presets
    import evidently.ui.workspace  # noqa: F401
    import nannyml.calibration  # noqa: F401

    from workloads.monitoring.estimation import _nannyml

    _nannyml()


def child_monthly(workdir: Path, labelled: bool = False) -> tuple[float, float]:
    """The monthly monitoring run on the prepared ``workdir`` (with realised figures when
    ``labelled``): (wall seconds, CPU seconds)."""
    from ml.snapshots import month_end
    from workloads.monitoring import monthly, reports
    from workloads.monitoring.estimation import PerformanceEstimator
    from workloads.monitoring.logs import read_predictions
    from workloads.monitoring.outcomes import outcome_table
    from workloads.monitoring.settings import MonitoringSettings

    reference = _reference(workdir)
    settings = MonitoringSettings(data_url="", monitoring_url=f"file://{workdir}/out")
    _import_libraries()  # as the Evidently side imports Evidently before its clock starts
    began, cpu = time.perf_counter(), time.process_time()
    predictions = read_predictions(f"file://{workdir}/log", [MONTH])
    known = outcome_table(f"file://{workdir}/outcomes.parquet")
    if not labelled:
        known = known.iloc[0:0]
    estimator = PerformanceEstimator(reference.rows)
    figures = monthly.analyse(settings, MONTH, predictions, known, reference, estimator)
    runs: dict[str, Any] = {f"drift {MONTH}": figures.drift.snapshot}
    for m, rows in monthly.performance_frames(predictions, known, settings.min_labelled).items():
        runs[f"performance {m}"] = reports.performance_report(rows, month_end(m))
    workspace = f"file://{workdir}/workspace-{time.time_ns()}"
    reports.save_snapshots(workspace, "bench", runs, "benchmark")
    assert len(figures.segment_drift) >= 12
    assert figures.performance[0]["estimated"]["roc_auc"]
    assert (figures.performance[0]["realised"] is not None) == labelled
    return time.perf_counter() - began, time.process_time() - cpu


def child_evidently(workdir: Path) -> tuple[float, float]:
    """Evidently's drift report alone on the same data: (wall seconds, CPU seconds)."""
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    from workloads.monitoring.columns import CATEGORICAL, MONITORED, NUMERICAL, monitored_frame

    reference = _reference(workdir)
    current = pd.concat(pd.read_parquet(p) for p in sorted((workdir / "log").rglob("*.parquet")))
    began, cpu = time.perf_counter(), time.process_time()
    definition = DataDefinition(
        categorical_columns=list(CATEGORICAL), numerical_columns=[*NUMERICAL, "win_probability"]
    )
    columns = [*MONITORED, "win_probability"]
    now = Dataset.from_pandas(monitored_frame(current)[columns], data_definition=definition)
    before = Dataset.from_pandas(
        monitored_frame(reference.rows)[columns], data_definition=definition
    )
    report = Report(
        [DataDriftPreset(columns=list(MONITORED)), ValueDrift(column="win_probability")]
    )
    report.run(now, before)
    return time.perf_counter() - began, time.process_time() - cpu


def _run_child(kind: str, workdir: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--workdir", str(workdir)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run each side ``--runs`` times in a fresh process, print medians and ratios as JSON (or, with
    ``--child``, run one side and print its figures)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=SIDES)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    if args.child:
        if args.child == "evidently":
            wall, cpu = child_evidently(args.workdir)
        else:
            wall, cpu = child_monthly(args.workdir, labelled=args.child == "labelled")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            json.dumps(
                {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_rss_mb": round(peak, 1)}
            )
        )
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepare(workdir, args.rows)
        pairs = []
        for i in range(args.runs + 1):  # the first pair warms the file cache and is dropped
            pair = {k: _run_child(k, workdir) for k in SIDES}
            print(f"run {i}: {pair}", flush=True)
            if i:
                pairs.append(pair)
    summary = {
        side: {
            key: statistics.median(p[side][key] for p in pairs)
            for key in ("wall_s", "cpu_s", "peak_rss_mb")
        }
        for side in SIDES
    }
    ratios = [p["monthly"]["wall_s"] / p["evidently"]["wall_s"] for p in pairs]
    cpu = [p["monthly"]["cpu_s"] / p["evidently"]["cpu_s"] for p in pairs]
    labelled = [p["labelled"]["wall_s"] / p["evidently"]["wall_s"] for p in pairs]
    result = {
        "machine": machine(),
        "rows": args.rows,
        "runs": args.runs,
        "median": summary,
        "wall_ratio_monthly_over_evidently": {
            "median": round(statistics.median(ratios), 2),
            "min": round(min(ratios), 2),
            "max": round(max(ratios), 2),
        },
        "cpu_ratio_monthly_over_evidently": {
            "median": round(statistics.median(cpu), 2),
            "min": round(min(cpu), 2),
            "max": round(max(cpu), 2),
        },
        "wall_ratio_labelled_over_evidently": round(statistics.median(labelled), 2),
        "pairs": pairs,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    keys = ("median", "wall_ratio_monthly_over_evidently", "cpu_ratio_monthly_over_evidently",
            "wall_ratio_labelled_over_evidently")  # fmt: skip
    print(json.dumps({k: result[k] for k in keys}, indent=2))


if __name__ == "__main__":
    main()
