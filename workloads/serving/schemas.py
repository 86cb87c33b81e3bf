"""The request and response documents of the prediction API (OpenAPI schemas)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

Stage = Literal["Won", "Lost", "Engaging", "Prospecting"]
"""``ml.data.schema.STAGES``, spelled out for the OpenAPI document."""
EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
"""Dates outside these bounds are refused (pandas timestamps end in 2262)."""


class Opportunity(BaseModel):
    """One opportunity as the CRM holds it (``ml.features.INPUT_COLUMNS``).

    ``account`` and ``engage_date`` may be null (open deals often lack an
    account, Prospecting deals have no engage date); ``as_of_date`` defaults
    to today (UTC). Unknown fields are ignored.
    """

    model_config = ConfigDict(extra="ignore")

    opportunity_id: StrictStr = Field(min_length=1, examples=["1C1I7A6R"])
    sales_agent: StrictStr = Field(examples=["Moses Frase"])
    product: StrictStr = Field(examples=["GTX Plus Basic"])
    account: StrictStr | None = Field(None, examples=["Cancity"])
    deal_stage: Stage = Field(examples=["Engaging"])
    engage_date: date | None = Field(None, ge=EARLIEST, le=LATEST, examples=["2016-10-20"])
    as_of_date: date | None = Field(None, ge=EARLIEST, le=LATEST, examples=["2016-10-31"])


class PredictRequest(BaseModel):
    opportunities: list[Opportunity] = Field(min_length=1)


class ModelRef(BaseModel):
    name: str
    version: str


class Prediction(BaseModel):
    opportunity_id: str
    win_probability: float = Field(ge=0, le=1)


class PredictResponse(BaseModel):
    request_id: str
    model: ModelRef
    predictions: list[Prediction]


class VersionResponse(BaseModel):
    model_name: str
    model_version: str
    alias: str
    loaded_at: str = Field(description="ISO 8601, UTC")
    scorer: str = Field(description="'fast', or 'pipeline' when no fast path applies")


class DataframeSplit(BaseModel):
    columns: list[str]
    data: list[list[object]]
    index: list[object] | None = None


class InvocationsRequest(BaseModel):
    """MLflow's scoring formats; exactly one of the two keys."""

    dataframe_split: DataframeSplit | None = None
    dataframe_records: list[dict[str, object]] | None = None


class InvocationsResponse(BaseModel):
    predictions: list[float] = Field(description="win probability per row, in order")
