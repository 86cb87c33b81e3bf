"""The request and response documents of the prediction API (OpenAPI schemas)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

Stage = Literal["Won", "Lost", "Engaging", "Prospecting"]
"""``ml.data.schema.STAGES``, spelled out for the OpenAPI document."""
EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
"""Dates outside these bounds are refused (pandas timestamps end in 2262)."""
MAX_IDENTIFIER = 256
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""Unicode control characters (category Cc) and lone surrogates (Cs)."""


def _no_control_characters(value: str) -> str:
    found = _CONTROL.search(value)
    if found:
        raise ValueError(
            f"must not contain control characters; found U+{ord(found.group()):04X} "
            f"at position {found.start()}"
        )
    return value


Identifier = Annotated[
    StrictStr,
    Field(max_length=MAX_IDENTIFIER, json_schema_extra={"pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"}),
    AfterValidator(_no_control_characters),
]
"""Text that names something (an id, an agent, a product, an account): at most
``MAX_IDENTIFIER`` characters, no control characters (they would reach the log)."""


class Opportunity(BaseModel):
    """One opportunity as the CRM holds it (``ml.features.INPUT_COLUMNS``).

    ``account`` and ``engage_date`` may be null (open deals often lack an
    account, Prospecting deals have no engage date); ``as_of_date`` defaults
    to today (UTC). Unknown fields are ignored.
    """

    model_config = ConfigDict(extra="ignore")

    opportunity_id: Identifier = Field(min_length=1, examples=["1C1I7A6R"])
    sales_agent: Identifier = Field(examples=["Moses Frase"])
    product: Identifier = Field(examples=["GTX Plus Basic"])
    account: Identifier | None = Field(None, examples=["Cancity"])
    deal_stage: Stage = Field(examples=["Engaging"])
    engage_date: date | None = Field(None, ge=EARLIEST, le=LATEST, examples=["2016-10-20"])
    as_of_date: date | None = Field(None, ge=EARLIEST, le=LATEST, examples=["2016-10-31"])


class PredictRequest(BaseModel):
    """``POST /predict``: one or more opportunities."""

    opportunities: list[Opportunity] = Field(min_length=1)


class ModelRef(BaseModel):
    """A registered model version: ``name`` and ``version``."""

    name: str
    version: str


class Prediction(BaseModel):
    """One opportunity's win probability (0 to 1)."""

    opportunity_id: str
    win_probability: float = Field(ge=0, le=1)


class PredictResponse(BaseModel):
    """``POST /predict``'s answer: the request id, the model version that scored, one prediction per
    opportunity in order."""

    request_id: str
    model: ModelRef
    predictions: list[Prediction]


class DataRows(BaseModel):
    """How many rows the served model's data had at each stage (None: not recorded)."""

    read: int = Field(description="sales_pipeline.csv rows read")
    quarantined: int = Field(description="of them, rows quarantined by validation")
    train: int | None = Field(None, description="labelled (deal, month-end) training rows")
    val: int | None = Field(None, description="labelled validation rows")
    eval: int | None = Field(None, description="labelled out-of-time evaluation rows")


class DataLineage(BaseModel):
    """What the served model was trained on (``ml.modeling.lineage``)."""

    model_config = ConfigDict(extra="allow")

    source: str = Field(description="kaggle, folder (real data) or synthetic (generated)")
    version: str = Field(description="content hash of the raw files (the data version)")
    rows: DataRows
    months: dict[str, list[str]] = Field(description="YYYY-MM month-ends per split")
    month: str | None = Field(None, description="the month-end the tables were known at")
    quality_score: float | None = None


class CompiledStatus(BaseModel):
    """Whether the served version scores through its compiled model (``ml.modeling.compiled``)."""

    used: bool = Field(description="false: the service fell back (``problem`` says why)")
    runtime: str | None = Field(
        None,
        description="tl2cgen (a tree ensemble as native code), treelite (its GTIL interpreter), "
        "numpy (linear model) or rate (baseline)",
    )
    made_at: Literal["training", "load"] | None = Field(
        None, description="'load' for a version logged without a compiled model"
    )
    checked_rows: int | None = Field(None, description="rows it was checked equal on at load")
    max_difference: float | None = Field(None, description="largest |difference| in P(Won) there")
    problem: str | None = Field(
        None, description="why it is not used, or why a tree ensemble scores with GTIL"
    )


class VersionResponse(BaseModel):
    """``GET /version``: the model served (name, version, alias), when it was loaded, the scorer in
    use and the model's lineage."""

    model_name: str
    model_version: str
    alias: str
    loaded_at: str = Field(description="ISO 8601, UTC")
    scorer: str = Field(
        description="'compiled'; 'fast' or 'pipeline' when the compiled model is not used"
    )
    compiled: CompiledStatus
    kind: Literal["learned", "baseline"] = Field(
        description="'baseline' when no learned model beat the baselines on this data"
    )
    family: str | None = Field(None, description="model family or baseline name")
    data: DataLineage | None = Field(None, description="null for a version without lineage")
    note: str | None = Field(None, description="said plainly when a baseline is served")
    promotion_reason: str | None = Field(None, description="the promotion gate's reason")


class DataframeSplit(BaseModel):
    """pandas' ``split`` orientation: ``columns``, ``data`` (rows of values) and an optional
    ``index``."""

    columns: list[str]
    data: list[list[object]]
    index: list[object] | None = None


class InvocationsRequest(BaseModel):
    """MLflow's scoring formats (as its scoring server reads them for a DataFrame
    model); exactly one of the keys. ``instances`` and ``inputs`` hold a list of
    records or an object of columns. The bare token ``NaN`` is a missing value.
    As ``text/csv``, the body is a CSV table with a header line."""

    dataframe_split: DataframeSplit | None = None
    dataframe_records: list[dict[str, object]] | None = None
    instances: list[dict[str, object]] | dict[str, Any] | None = None
    inputs: list[dict[str, object]] | dict[str, Any] | None = None


class InvocationsResponse(BaseModel):
    """``POST /invocations``' answer: one win probability per row, in order."""

    predictions: list[float] = Field(description="win probability per row, in order")
