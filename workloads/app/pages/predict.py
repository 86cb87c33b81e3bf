"""Predict: one opportunity in a form, scored by the prediction service."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from workloads.app.choices import reference_choices
from workloads.app.platform_status import discover
from workloads.app.serving import Rejected, ServiceDown, ServingClient
from workloads.app.settings import AppSettings, load_settings

NO_ACCOUNT = "(no account yet)"


@st.cache_data(ttl=300, show_spinner=False)
def _choices(data_url: str | None) -> dict[str, list[str]] | None:
    if not data_url:
        return None
    try:
        return reference_choices(data_url)
    except Exception:  # no data stored yet, or storage down: the form takes free text
        return None


def serving_client(settings: AppSettings) -> ServingClient | None:
    """A client of the prediction service, or None (and a message) when it is not known."""
    url = discover(settings, "serving", settings.serving_url)
    if not url:
        st.error(
            "The prediction service is not known: it is not running in this environment "
            "(see the Platform page) and CRM_SERVING_URL is not set."
        )
        return None
    return ServingClient(url, settings.api_key)


def _pick(label: str, options: list[str] | None, default: str = "") -> str:
    if options:
        return st.selectbox(label, options)
    return st.text_input(label, value=default)


def _form(choices: dict[str, list[str]] | None) -> dict[str, object] | None:
    with st.form("predict"):
        opportunity_id = st.text_input("Opportunity id", value="NEW-0001")
        agent = _pick("Sales agent", choices and choices["agents"])
        product = _pick("Product", choices and choices["products"], "GTX Basic")
        account = _pick("Account", choices and [NO_ACCOUNT, *choices["accounts"]])
        stage = st.selectbox("Deal stage", ["Engaging", "Prospecting"])
        engage = st.date_input("Engage date", value=dt.date(2017, 11, 15))
        as_of = st.date_input("As of", value=dt.date(2017, 12, 31))
        if not st.form_submit_button("Predict"):
            return None
    return {
        "opportunity_id": opportunity_id,
        "sales_agent": agent,
        "product": product,
        "account": None if account in ("", NO_ACCOUNT) else account,
        "deal_stage": stage,
        "engage_date": engage.isoformat(),
        "as_of_date": as_of.isoformat(),
    }


def render() -> None:
    st.title("Predict")
    settings = load_settings()
    client = serving_client(settings)
    if client is None:
        return
    try:
        version = client.version()
    except (ServiceDown, Rejected) as exc:
        st.error(f"The prediction service is down: {exc}")
        return
    st.caption(f"Model {version.get('model_name')} v{version.get('model_version')}")
    choices = _choices(settings.data_url)
    if choices is None:
        st.warning("Reference data is not available; type the values instead of choosing them.")
    opportunity = _form(choices)
    if opportunity is None:
        return
    try:
        answer = client.predict([opportunity])
    except Rejected as exc:
        st.error(f"The prediction service refused the input: {exc}")
        return
    except ServiceDown as exc:
        st.error(f"The prediction service is down: {exc}")
        return
    probability = answer["predictions"][0]["win_probability"]
    st.metric("Win probability", f"{probability:.1%}")
    st.caption(f"Scored by {answer['model']['name']} v{answer['model']['version']}")
