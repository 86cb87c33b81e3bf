"""Platform: every service's health as the scheduler and discovery see it, and the
last hour of request rate, server-error share and p99 latency per service from the
metrics workload's Prometheus when it is up."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workloads.app.platform_status import StatusUnavailable, platform_status, service_url
from workloads.app.service_metrics import MetricsUnavailable, last_hour
from workloads.app.settings import load_settings


def render() -> None:
    """The platform page: each service with its health, and its traffic over the last hour."""
    st.title("Platform")
    settings = load_settings()
    try:
        services = platform_status(settings)
    except StatusUnavailable as exc:
        st.error(f"The platform status is not available: {exc}")
        return
    rows = [
        {
            "service": s["name"],
            "health": s["health"],
            "endpoints": ", ".join(e["url"] for e in s.get("endpoints", [])),
            "detail": s.get("detail") or "",
        }
        for s in services
    ]
    unhealthy = [r["service"] for r in rows if r["health"] != "healthy"]
    if unhealthy:
        st.warning(f"Not healthy: {', '.join(unhealthy)}")
    else:
        st.success(f"All {len(rows)} services of '{settings.opsctl_env}' are healthy")
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    _charts(services)


def _charts(services: list[dict]) -> None:
    st.subheader("Last hour")
    prometheus = service_url(services, "metrics")
    if prometheus is None:
        st.info("No metrics: the metrics workload (Prometheus) is not running.")
        return
    try:
        frames = last_hour(prometheus)
    except MetricsUnavailable as exc:
        st.error(str(exc))
        return
    for title, frame in frames.items():
        st.markdown(f"**{title}**")
        if frame.empty:
            st.caption("no samples yet")
        else:
            st.line_chart(frame)
