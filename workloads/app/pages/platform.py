"""Platform: every service's health as the scheduler and discovery see it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workloads.app.platform_status import StatusUnavailable, platform_status
from workloads.app.settings import load_settings


def render() -> None:
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
        st.success(f"All {len(rows)} services of '{settings.environment}' are healthy")
    st.dataframe(pd.DataFrame(rows), hide_index=True)
