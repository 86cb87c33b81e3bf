"""Monitoring: drift and realised performance month by month, and the alerts raised."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workloads.app import monitoring_view
from workloads.app.platform_status import discover
from workloads.app.settings import load_settings


def _alerts(alerts: list[dict]) -> None:
    st.subheader("Alerts")
    if not alerts:
        st.success("No alert raised.")
        return
    rows = [
        {
            "raised at": a["raised_at"],
            "month": a["month"],
            "model": a["model"],
            "reasons": "; ".join(a["reasons"]),
            "retraining": f"{a['retraining']['status']}: {a['retraining']['detail']}",
            "webhook": a.get("webhook", ""),
        }
        for a in alerts
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def render() -> None:
    st.title("Monitoring")
    settings = load_settings()
    if not settings.monitoring_url:
        st.error("CRM_MONITORING_URL is not set: the app does not know where results are.")
        return
    try:
        results, alerts = monitoring_view.load(settings.monitoring_url)
    except Exception as exc:  # storage down or unreadable: say so instead of failing
        st.error(f"Monitoring results at {settings.monitoring_url} cannot be read: {exc}")
        return
    evidently = discover(settings, "evidently-ui", settings.evidently_url)
    if evidently:
        st.markdown(f"Evidently reports: [{evidently}]({evidently})")
    if not results:
        st.info("No monitoring run yet: the monitoring flow runs on the 1st of each month.")
        return
    drift = monitoring_view.drift_by_month(results)
    if len(drift):
        st.subheader("Drift of scored opportunities against the training reference")
        st.line_chart(drift.set_index("month")[["drift share", "threshold"]])
        st.dataframe(drift, hide_index=True)
    performance = monitoring_view.performance_by_month(results)
    if len(performance):
        st.subheader("Realised performance by month of prediction")
        st.line_chart(performance.set_index("month")[["ROC-AUC", "Brier"]])
        st.line_chart(performance.set_index("month")[["mean prediction", "observed win rate"]])
        st.dataframe(performance, hide_index=True)
    _alerts(alerts)
