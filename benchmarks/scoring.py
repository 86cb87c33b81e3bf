"""Benchmark: batch scoring of 1,000,000 open deals, features and model, wall time and
peak memory, through the compiled model (what the monthly scoring flow does) beside
the scikit-learn pipeline's own ``predict_proba``.

For each family a model is trained on generator data (8,800 deals); 1,000,000 open
deals are drawn from its evaluation rows' agents, products, accounts and dates (every
value one the model knows, dates spread over the months). Each path runs in a process
of its own (``--child``), so its peak RSS is its own; the times exclude imports and
building the rows.

    python benchmarks/scoring.py [--rows 1000000] [--families logistic boosting baseline]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import machine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results" / "scoring.json"


def train(family: str, folder: Path) -> Path:
    """Train ``family`` (``baseline``: the best baseline of a logistic run); the fitted
    pipeline and its evaluation rows in ``folder/model.joblib``."""
    import joblib

    from ml.data import schema as s
    from ml.data.synthetic import GeneratorConfig, generate_csv_files
    from ml.features import CrmTables
    from ml.modeling.baseline import baseline_pipeline, best_baseline
    from ml.modeling.train import train as fit
    from ml.settings import TrainingSettings
    from ml.validation import validate_files

    clean = validate_files(generate_csv_files(GeneratorConfig(rows=8800, seed=42))).tables
    tables = CrmTables(clean[s.PIPELINE], clean[s.ACCOUNTS], clean[s.PRODUCTS], clean[s.TEAMS])
    learned = "logistic" if family == "baseline" else family
    result = fit(tables, TrainingSettings(trials=3, families=(learned,)))
    pipeline = result.pipeline
    if family == "baseline":
        pipeline = baseline_pipeline(result, best_baseline(result))
    path = folder / f"{family}.joblib"
    joblib.dump((pipeline, result.eval_inputs), path)
    return path


def open_deals(eval_inputs: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` open deals drawn column by column from the evaluation rows."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {c: eval_inputs[c].to_numpy()[rng.integers(0, len(eval_inputs), rows)]
         for c in ("sales_agent", "product", "account", "as_of_date")}
    )  # fmt: skip
    frame["engage_date"] = frame["as_of_date"] - pd.to_timedelta(rng.integers(0, 200, rows), "D")
    frame["opportunity_id"] = [f"D{i:07d}" for i in range(rows)]
    frame["deal_stage"] = "Engaging"
    from ml.features import INPUT_COLUMNS

    return frame[list(INPUT_COLUMNS)]


def child(path: str, how: str, rows: int) -> None:
    """Score ``rows`` deals with the model in ``path`` by ``how``; print one JSON line."""
    import joblib

    from ml.modeling.batch import batch_scores
    from ml.modeling.compiled import Served

    pipeline, eval_inputs = joblib.load(path)
    deals = open_deals(eval_inputs, rows)
    extra: dict[str, object] = {}
    if how != "pipeline":
        # a tree ensemble's native code is built once per model and machine (a restart
        # loads it from the cache folder): built here, before the clock starts
        from ml.modeling.compiled import compile_model
        from ml.modeling.native import with_native

        began = time.perf_counter()
        native, _problem = with_native(compile_model(pipeline))
        if native.native is not None:
            extra["native_build_s"] = time.perf_counter() - began
    began = time.perf_counter()
    if how != "pipeline":
        scores, status = batch_scores(Served(pipeline), deals)
        assert status["used"], status
        extra.update(runtime=status["runtime"], problem=status.get("problem"))
    else:
        scores = pipeline.predict_proba(deals)[:, 1]
    wall = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"wall_s": wall, "peak_rss_bytes": peak, "rows": len(scores),
                      "mean_probability": float(np.mean(scores)), **extra}))  # fmt: skip


def run(path: Path, how: str, rows: int) -> dict[str, float]:
    """Score ``rows`` deals with the model at ``path`` the ``how`` way (``compiled``,
    ``compiled_without_native``: a tree ensemble without its native code, or the pipeline)
    in a fresh process; its figures: ``wall_s``, ``peak_rss_bytes``, ``rows``,
    ``mean_probability`` (and for a compiled path ``runtime``, and ``native_build_s``
    when native code was built)."""
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "CRM_NATIVE_CACHE_DIR": str(path.parent / "native-trees")}  # fmt: skip
    if how == "compiled_without_native":
        env["CRM_NATIVE_TREES"] = "off"
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), how, "--rows", str(rows)],
        capture_output=True, text=True, check=True, env=env,
    ).stdout  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    print(path.stem, how, result, flush=True)
    return result


def earlier_families() -> dict[str, dict]:
    """The families of the results file, each with the machine and load of the run that
    measured it (so a run of some families keeps the others' figures, dated)."""
    if not RESULTS.exists():
        return {}
    earlier = json.loads(RESULTS.read_text())
    when = {
        "machine": earlier.get("machine"),
        "load_avg_1m_at_end": earlier.get("load_avg_1m_at_end"),
    }
    return {name: {**when, **figures} for name, figures in earlier.get("families", {}).items()}


def main() -> None:
    """Compare the scoring paths of each family on ``--rows`` rows and print the figures as JSON
    (or, with ``--child``, measure one path)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--families", nargs="+", default=["logistic", "boosting", "baseline"])
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "HOW"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.rows)
        return
    started = machine()
    families = {}
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as tmp:
        for family in args.families:
            path = train(family, Path(tmp))
            compiled, pipeline = run(path, "compiled", args.rows), run(path, "pipeline", args.rows)
            families[family] = {"compiled": compiled, "sklearn_pipeline": pipeline,
                                "speedup": pipeline["wall_s"] / compiled["wall_s"]}  # fmt: skip
            if family == "boosting":  # the batch path before native code, beside it
                families[family]["compiled_without_native"] = run(
                    path, "compiled_without_native", args.rows
                )
    report = {"machine": started, "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
              "settings": {"rows": args.rows, "omp_num_threads": 1},
              "families": {**earlier_families(), **families}}  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(
        json.dumps({f: {k: v for k, v in r.items() if k != "speedup"} for f, r in families.items()})
    )


if __name__ == "__main__":
    main()
