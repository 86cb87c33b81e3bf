"""Describe the machine a benchmark ran on, for the recorded results."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

import psutil


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
