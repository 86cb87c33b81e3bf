"""Model: champion and challenger against the baselines, calibration, features; from MLflow."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from workloads.app.model_info import MlflowDown, ModelView, load_model_views
from workloads.app.platform_status import discover
from workloads.app.settings import load_settings


def _calibration(view: ModelView) -> None:
    if not view.calibration:
        st.info("This run logged no calibration curve.")
        return
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated")
    for name, curve in view.calibration.items():
        fig.add_scatter(x=curve["predicted"], y=curve["observed"], mode="lines+markers", name=name)
    fig.update_layout(
        xaxis_title="predicted win probability", yaxis_title="observed win rate", height=380
    )
    st.plotly_chart(fig, key=f"calibration-{view.alias}")


def _features(view: ModelView) -> None:
    if view.importance:
        series = pd.Series(view.importance, name="importance").sort_values(ascending=False)
        st.bar_chart(series.head(20))
    elif view.features:
        st.info("This run logged no feature importance; the features it used:")
        st.dataframe(pd.DataFrame({"feature": view.features}), hide_index=True)


def _show(view: ModelView) -> None:
    st.subheader(f"{view.alias}: version {view.version}")
    promotion = view.tags.get("promotion")
    if promotion:
        st.caption(f"promotion gate: {promotion}")
    st.dataframe(pd.DataFrame(view.metrics).T.round(4), key=f"metrics-{view.alias}")
    _calibration(view)
    _features(view)


def render() -> None:
    st.title("Model")
    settings = load_settings()
    url = discover(settings, "mlflow", settings.mlflow_url)
    if not url:
        st.error("MLflow is not known: it is not running here and MLFLOW_TRACKING_URI is not set.")
        return
    try:
        views = load_model_views(url, settings.model_name, ("champion", "challenger"))
    except MlflowDown as exc:
        st.error(f"MLflow is down: {exc}")
        return
    if not views:
        st.info(f"No champion or challenger of {settings.model_name} in the registry yet.")
        return
    for view in views:
        _show(view)
