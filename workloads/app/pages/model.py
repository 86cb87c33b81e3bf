"""Model: champion and challenger against the baselines, what each was trained on,
calibration, features; from MLflow."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ml.modeling.lineage import BASELINE_MESSAGE, lineage_from_tags
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


def _lineage(view: ModelView) -> None:
    data = lineage_from_tags(view.tags)
    if not data:
        st.caption("trained before lineage was recorded: its data is not known")
        return
    rows, months = data.get("rows", {}), data.get("months", {})
    st.markdown(
        f"Trained on **{data.get('source')}** data `{data.get('version')}` "
        f"({data.get('origin', '')}): {rows.get('read')} rows read, "
        f"{rows.get('quarantined')} quarantined, quality score {data.get('quality_score')}; "
        f"months trained {_span(months.get('train'))}, validated {_span(months.get('val'))}, "
        f"evaluated {_span(months.get('eval'))}."
    )


def _span(months: list[str] | None) -> str:
    return f"{months[0]}..{months[-1]}" if months else "-"


def _show(view: ModelView) -> None:
    kind = view.tags.get("kind", "learned")
    family = view.tags.get("family")
    label = f" ({'baseline: ' if kind == 'baseline' else ''}{family})" if family else ""
    st.subheader(f"{view.alias}: version {view.version}{label}")
    if kind == "baseline":
        st.info(f"{BASELINE_MESSAGE}.")
    _lineage(view)
    promotion = view.tags.get("promotion")
    if promotion:
        reason = view.tags.get("promotion.reason")
        st.caption(f"promotion gate: {promotion}" + (f": {reason}" if reason else ""))
    st.dataframe(pd.DataFrame(view.metrics).T.round(4), key=f"metrics-{view.alias}")
    _calibration(view)
    _features(view)


def render() -> None:
    """The model page: the champion and challenger versions from MLflow, their metrics and lineage."""
    st.title("Model")
    settings = load_settings()
    url = discover(settings, "mlflow", settings.mlflow_url)
    if not url:
        st.error("MLflow is not known: it is not running here and MLFLOW_TRACKING_URI is not set.")
        return
    try:
        views = load_model_views(
            url,
            settings.model_name,
            (settings.registry.champion_alias, settings.registry.challenger_alias),
        )
    except MlflowDown as exc:
        st.error(f"MLflow is down: {exc}")
        return
    if not views:
        st.info(f"No champion or challenger of {settings.model_name} in the registry yet.")
        return
    for view in views:
        _show(view)
