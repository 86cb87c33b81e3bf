"""Schedulers: where workloads run. ``local`` (supervised processes) or ``nomad``."""
