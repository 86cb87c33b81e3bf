"""Batch: upload a CSV of opportunities, score it, download the result. Rows are checked
against the data the served model was trained on; a batch where no row scores is a
failure, one where some rows do not is a warning."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workloads.app.batch import REQUIRED, BatchFileError, read_batch, score_batch, template
from workloads.app.pages.predict import champion_choices, default_as_of, serving_client, show_model
from workloads.app.serving import Rejected, ServiceDown
from workloads.app.settings import load_settings


def _outcome(scored: pd.DataFrame) -> None:
    """Success only when every row scored; each failing row is named by its line in the
    file and its opportunity id."""
    failed = scored[scored["error"] != ""]
    done = len(scored) - len(failed)
    named = ", ".join(
        f"line {line} ({oid or 'no id'})" for line, oid in failed["opportunity_id"].head(5).items()
    ) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
    if done == 0:
        st.error(f"No row scored: all {len(scored)} rows were refused ({named})")
    elif len(failed):
        st.warning(f"{done} of {len(scored)} rows scored; {len(failed)} could not be: {named}")
    else:
        st.success(f"{done} of {len(scored)} rows scored")
    if len(failed):
        st.dataframe(failed[["opportunity_id", "error"]].reset_index(), hide_index=True)


def render() -> None:
    """The batch page: upload a CSV, score it with the prediction service, download the result."""
    st.title("Batch scoring")
    st.write(f"A CSV with the columns {', '.join(REQUIRED)} (and optionally as_of_date).")
    settings = load_settings()
    client = serving_client(settings)
    if client is None:
        return
    try:
        version = client.version()
    except (ServiceDown, Rejected) as exc:
        st.error(f"The prediction service is down: {exc}")
        return
    show_model(version)
    choices = champion_choices(settings, version)
    as_of = default_as_of(version).isoformat()
    st.download_button("Template CSV", template(choices, as_of), file_name="opportunities.csv")
    upload = st.file_uploader("Opportunities (CSV)", type=["csv"])
    if upload is None:
        return
    try:
        scored = score_batch(client, read_batch(upload.getvalue()), choices)
    except BatchFileError as exc:
        st.error(f"{upload.name}: {exc}")
        return
    except ServiceDown as exc:
        st.error(f"The prediction service is down: {exc}")
        return
    _outcome(scored)
    st.dataframe(scored, hide_index=True)
    st.download_button(
        "Download scored CSV",
        scored.to_csv(index=False).encode(),
        file_name=f"scored-{upload.name}",
        mime="text/csv",
    )
