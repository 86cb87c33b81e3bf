"""Predict: one opportunity in a form, scored by the prediction service. The form offers
the agents, products and accounts of the data the served model was trained on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from ml.modeling.lineage import BASELINE_MESSAGE
from workloads.app.choices import describe, model_choices
from workloads.app.platform_status import discover
from workloads.app.serving import Rejected, ServiceDown, ServingClient
from workloads.app.settings import AppSettings, load_settings

NO_ACCOUNT = "(no account yet)"


@st.cache_data(ttl=300, show_spinner=False)
def _choices(data_url: str | None, data: dict | None) -> dict[str, list[str]] | None:
    if not data_url:
        return None
    try:
        return model_choices(data_url, data)
    except Exception:  # the tables are gone, or storage is down: the form takes free text
        return None


def champion_choices(settings: AppSettings, version: dict[str, Any]) -> dict[str, list[str]] | None:
    """The choices of the served model's training data (cached), or None."""
    return _choices(settings.data_url, version.get("data"))


def show_model(version: dict[str, Any]) -> None:
    """The served model, what it was trained on, and plainly when it is a baseline."""
    st.caption(describe(version))
    if version.get("kind") == "baseline":
        st.info(f"The served model is a baseline: {version.get('note') or BASELINE_MESSAGE}.")


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


def default_as_of(version: dict[str, Any]) -> dt.date:
    """The month-end the served model's data was known at (else the dataset's last day)."""
    month = (version.get("data") or {}).get("month")
    try:
        year, number = (int(part) for part in str(month).split("-"))
    except ValueError:
        return dt.date(2017, 12, 31)
    return dt.date(year + number // 12, number % 12 + 1, 1) - dt.timedelta(days=1)


def _form(choices: dict[str, list[str]] | None, as_of_default: dt.date) -> dict[str, object] | None:
    with st.form("predict"):
        opportunity_id = st.text_input("Opportunity id", value="NEW-0001")
        agent = _pick("Sales agent", choices["agents"] if choices else None)
        product = _pick("Product", choices["products"] if choices else None, "GTX Basic")
        account = _pick("Account", [NO_ACCOUNT, *choices["accounts"]] if choices else None)
        stage = st.selectbox("Deal stage", ["Engaging", "Prospecting"])
        engage = st.date_input("Engage date", value=as_of_default - dt.timedelta(days=45))
        as_of = st.date_input("As of", value=as_of_default)
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
    """The predict page: one opportunity's form, scored by the prediction service."""
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
    show_model(version)
    choices = champion_choices(settings, version)
    if choices is None:
        st.warning(
            "The served model's training data is not available here; type the values "
            "instead of choosing them."
        )
    opportunity = _form(choices, default_as_of(version))
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
