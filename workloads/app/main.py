"""Entry point of the Streamlit app: ``run()`` builds the navigation of the pages."""

from __future__ import annotations

import streamlit as st

from workloads.app.pages import batch, model, monitoring, platform, predict


def run() -> None:
    """Render the page the user is on (Predict by default)."""
    st.set_page_config(page_title="CRM win probability", layout="wide")
    pages = [
        st.Page(predict.render, title="Predict", url_path="predict", default=True),
        st.Page(batch.render, title="Batch", url_path="batch"),
        st.Page(model.render, title="Model", url_path="model"),
        st.Page(monitoring.render, title="Monitoring", url_path="monitoring"),
        st.Page(platform.render, title="Platform", url_path="platform"),
    ]
    st.navigation(pages).run()


if __name__ == "__main__":
    run()
