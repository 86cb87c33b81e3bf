"""Describe the machine a benchmark ran on, for the recorded results.

Imported first by every benchmark: it also turns off the usage reporting of the
libraries the benchmarks load (MLflow, Evidently, NannyML), as the platform's own
processes have it by default.
"""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

import psutil

REPORTING_OFF = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
                 "NML_DISABLE_USAGE_LOGGING": "true"}  # fmt: skip
os.environ.update(REPORTING_OFF)


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            models = [line for line in cpuinfo if line.startswith("model name")]
        if models:
            cpu = models[0].split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }
