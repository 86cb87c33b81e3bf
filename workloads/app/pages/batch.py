"""Batch: upload a CSV of opportunities, score it, download the result."""

from __future__ import annotations

import streamlit as st

from workloads.app.batch import REQUIRED, BatchFileError, read_batch, score_batch
from workloads.app.pages.predict import serving_client
from workloads.app.serving import ServiceDown
from workloads.app.settings import load_settings


def render() -> None:
    st.title("Batch scoring")
    st.write(f"A CSV with the columns {', '.join(REQUIRED)} (and optionally as_of_date).")
    settings = load_settings()
    client = serving_client(settings)
    if client is None:
        return
    upload = st.file_uploader("Opportunities (CSV)", type=["csv"])
    if upload is None:
        return
    try:
        frame = read_batch(upload.getvalue())
        scored = score_batch(client, frame)
    except BatchFileError as exc:
        st.error(f"{upload.name}: {exc}")
        return
    except ServiceDown as exc:
        st.error(f"The prediction service is down: {exc}")
        return
    failed = scored[scored["error"] != ""]
    st.success(f"{len(scored) - len(failed)} of {len(scored)} rows scored")
    if len(failed):
        st.error(f"{len(failed)} rows could not be scored")
        st.dataframe(failed[["opportunity_id", "error"]], hide_index=True)
    st.dataframe(scored, hide_index=True)
    st.download_button(
        "Download scored CSV",
        scored.to_csv(index=False).encode(),
        file_name=f"scored-{upload.name}",
        mime="text/csv",
    )
