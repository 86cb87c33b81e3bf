"""Benchmark: how long `opsctl up --env local` takes, beside each service started alone.

What a user would do instead of opsctl is start each service by hand; the
fastest that could possibly be is the slowest single service, so the cold `up`
is compared with it (targets: cold up <= 1.3x the slowest single service,
warm up < 2 s). Every measurement runs on free loopback ports in a temporary
state directory; medians are reported because these machines are shared.

    python benchmarks/platform_up.py [--runs 3] [--warm-runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from _machine import machine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ops_cli.environment import open_environment  # noqa: E402
from ops_cli.health import probe  # noqa: E402
from ops_cli.scheduler.local.workload import resolve_local_workloads  # noqa: E402
from tests.conftest import free_port_base  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "platform_up.json"


def opsctl_env(state: Path, base: int) -> dict[str, str]:
    """The process environment of an opsctl run against the repository's environments, with its
    state in ``state`` and ports from ``base``."""
    return {
        **os.environ,
        "OPSCTL_ENVIRONMENTS_DIR": str(REPO / "environments"),
        "OPSCTL_STATE_DIR": str(state),
        "OPSCTL_NETWORK__PORT_BASE": str(base),
    }


def opsctl(env: dict[str, str], *args: str) -> float:
    """Run ``opsctl <args>`` and return its wall time in seconds; exits the benchmark when it fails."""
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "ops_cli", *args], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"opsctl {' '.join(args)} failed:\n{result.stderr}")
    return elapsed


def measure_up(runs: int, warm_runs: int) -> tuple[list[float], list[float]]:
    """Wall seconds of ``runs`` cold ``up``s (each in a fresh state folder) and of ``warm_runs``
    ``up``s of a platform already up."""
    cold, warm = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="opsctl-bench-") as tmp:
            env = opsctl_env(Path(tmp) / "state", free_port_base(start=30000))
            try:
                cold.append(opsctl(env, "up", "--no-bootstrap"))
                if not warm:
                    warm = [opsctl(env, "up", "--no-bootstrap") for _ in range(warm_runs)]
            finally:
                opsctl(env, "down", "--purge", "--yes")
    return cold, warm


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def measure_single(name: str, runs: int) -> tuple[list[float], list[float]]:
    """Start the same process opsctl would start, by hand, and wait for its health check.

    Returns the wall times and the CPU seconds each start consumed until healthy.
    """
    times, cpu = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="opsctl-bench-") as tmp:
            environ = opsctl_env(Path(tmp) / "state", free_port_base(start=30000))
            env = open_environment("local", environ=environ)
            env.paths.create()
            env.secrets.ensure_generated(env.local_secret_names())
            workload = next(
                w
                for w in resolve_local_workloads(env.config, env.catalog, env.paths, env.secrets)
                if w.name == name
            )
            workload.data_dir.mkdir(parents=True, exist_ok=True)
            for path, content, mode in workload.files:
                path.write_text(content)
                path.chmod(mode)
            began = time.perf_counter()
            proc = subprocess.Popen(
                list(workload.command),
                env={**os.environ, **workload.env},
                cwd=workload.data_dir,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                while not probe(workload.probe, 2.0).healthy:
                    if proc.poll() is not None:
                        raise SystemExit(f"{name} exited with {proc.returncode}")
                    time.sleep(0.1)
                times.append(time.perf_counter() - began)
                cpu.append(cpu_seconds(proc.pid))
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(30)
    return times, cpu


def main() -> None:
    """Time each workload alone and the whole platform's cold and warm ``up``, print medians and
    ratios as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warm-runs", type=int, default=5)
    args = parser.parse_args()
    info = machine()
    local = open_environment("local", environ=opsctl_env(Path("/nonexistent"), 30000))
    measured = {name: measure_single(name, args.runs) for name in local.config.enabled_workloads()}
    singles = {name: wall for name, (wall, _cpu) in measured.items()}
    cpu = {name: statistics.median(c) for name, (_wall, c) in measured.items()}
    cold, warm = measure_up(args.runs, args.warm_runs)
    single_medians = {n: statistics.median(t) for n, t in singles.items()}
    slowest = max(single_medians, key=single_medians.get)
    cold_median = statistics.median(cold)
    # Starting everything at once cannot beat the CPU work of the starts spread
    # over every core, nor the slowest single start.
    cpu_bound = max(sum(cpu.values()) / (os.cpu_count() or 1), single_medians[slowest])
    report = {
        "machine": info,
        "runs": {"cold_up_s": cold, "warm_up_s": warm, "single_service_s": singles},
        "medians": {
            "cold_up_s": round(cold_median, 2),
            "warm_up_s": round(statistics.median(warm), 2),
            "single_service_s": {n: round(t, 2) for n, t in single_medians.items()},
        },
        "cpu_s_until_healthy": {n: round(c, 2) for n, c in cpu.items()},
        "parallel_lower_bound_s": round(cpu_bound, 2),
        "cold_over_lower_bound": round(cold_median / cpu_bound, 2),
        "slowest_single_service": slowest,
        "cold_over_slowest_single": round(cold_median / single_medians[slowest], 2),
        "targets": {"cold_over_slowest_single_max": 1.3, "warm_up_max_s": 2.0},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["medians"], indent=2))
    print(f"cold/slowest single ({slowest}): {report['cold_over_slowest_single']}x")
    print(f"CPU seconds until healthy: {report['cpu_s_until_healthy']}")
    print(
        f"lower bound on {os.cpu_count()} cores: {cpu_bound:.1f}s; cold/bound: {report['cold_over_lower_bound']}x"
    )


if __name__ == "__main__":
    main()
