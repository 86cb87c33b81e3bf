"""Monitoring: drift, estimated against realised performance with label coverage, segments,
the retraining rules and the alerts raised, for the platform's months or the latest demo
replay (generated data, always labelled so)."""

from __future__ import annotations

import streamlit as st

from workloads.app import monitoring_view as view
from workloads.app.platform_status import discover
from workloads.app.settings import load_settings


def _pick(sources: list[view.Source]) -> view.Source:
    if len(sources) == 1:
        return sources[0]
    default = 1 if not sources[0].results else 0  # the replay, when the platform has no months
    labels = [s.label for s in sources]
    chosen = st.radio("Months shown", labels, index=default, horizontal=True)
    return sources[labels.index(chosen)]


def _drift(source: view.Source) -> None:
    drift = view.drift_by_month(source.results)
    if not len(drift):
        return
    st.subheader("Drift of scored opportunities against the training reference")
    st.line_chart(drift.set_index("month")[["drift share", "threshold"]])
    st.dataframe(drift, hide_index=True)


def _performance(source: view.Source) -> None:
    performance = view.performance_by_month(source.results)
    if not len(performance):
        return
    st.subheader("Estimated (CBPE) and realised performance by month of prediction")
    st.caption(
        "Estimated from the probabilities before any deal closes; realised on the deals "
        "closed so far. Label coverage is the share of the month's scored deals that have closed."
    )
    by_month = performance.set_index("month")
    st.line_chart(
        by_month[["estimated ROC-AUC", "ROC-AUC band low", "ROC-AUC band high", "realised ROC-AUC"]]
    )
    st.line_chart(
        by_month[["estimated Brier", "Brier band low", "Brier band high", "realised Brier"]]
    )
    st.bar_chart(by_month[["label coverage"]])
    st.dataframe(performance, hide_index=True)


def _convergence(source: view.Source) -> None:
    months = sorted({p["month"] for r in source.results for p in r.get("performance", [])})
    if not months:
        return
    st.subheader("As labels arrive")
    month = st.selectbox("Month of prediction", months, index=0)
    found = view.convergence(source.results, month)
    if len(found) > 1:
        by_date = found.set_index("labels as of")
        st.line_chart(by_date[["estimated Brier", "realised Brier"]])
    st.dataframe(found, hide_index=True)


def _rules_and_segments(results: list[dict]) -> None:
    latest = results[-1]
    st.subheader(f"Retraining rules after {latest['month']}")
    st.dataframe(view.triggers(latest), hide_index=True)
    measured = view.latest_with_drift(results)
    drift, performance = view.segments(latest, measured)
    size = (latest.get("segments") or {}).get("min_size")
    st.subheader("Segments: regional office, manager, product series")
    st.caption(
        f"Drift of {measured['month'] if measured else '-'}; performance by month of prediction "
        f"as of {latest['month']}. A segment figure on fewer than {size} rows is too small to judge."
    )
    if len(drift):
        st.dataframe(drift, hide_index=True)
    if len(performance):
        st.dataframe(performance, hide_index=True)


def _alerts(source: view.Source) -> None:
    st.subheader("Alerts")
    if not source.alerts:
        st.success("No alert raised.")
        return
    for line in view.alert_lines(source.alerts[:3]):
        st.error(line)
    st.dataframe(view.alerts_table(source.alerts), hide_index=True)


def render() -> None:
    """The monitoring page: drift, estimated and realised performance by month, the retraining
    rules, segments and alerts."""
    st.title("Monitoring")
    settings = load_settings()
    if not settings.monitoring_url:
        st.error("CRM_MONITORING_URL is not set: the app does not know where results are.")
        return
    try:
        sources = view.load(settings.monitoring_url)
    except Exception as exc:  # storage down or unreadable: say so instead of failing
        st.error(f"Monitoring results at {settings.monitoring_url} cannot be read: {exc}")
        return
    evidently = discover(settings, "evidently-ui", settings.evidently_url)
    if evidently:
        st.markdown(f"Evidently reports: [{evidently}]({evidently})")
    source = _pick(sources)
    if source.generated:
        st.warning(view.GENERATED)
    if not source.results:
        st.info(
            "No monitoring run yet: the monitoring flow runs on the 1st of each month. "
            "`opsctl demo replay` shows the whole loop now, on generated months."
        )
        return
    _alerts(source)
    _drift(source)
    _performance(source)
    _convergence(source)
    _rules_and_segments(source.results)
