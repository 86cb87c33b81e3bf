"""The pandera schemas: types, allowed values, business rules, referential integrity.

Every check has a name; a failing row is quarantined with the names of the
checks it failed. Dataframe-wide checks return one boolean per row so that
failures point at rows, never at the whole table.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from ml.data import schema as s


def _rule(name: str, fn) -> pa.Check:
    return pa.Check(fn, name=name, error=name)


def _stage(df: pd.DataFrame, *stages: str) -> pd.Series:
    return df["deal_stage"].isin(stages)


BUSINESS_RULES: tuple[pa.Check, ...] = (
    _rule(
        "won deal has close_value > 0",
        lambda df: ~_stage(df, s.WON) | (df["close_value"] > 0),
    ),
    _rule(
        "lost deal has close_value 0",
        lambda df: ~_stage(df, s.LOST) | (df["close_value"] == 0),
    ),
    _rule(
        "closed deal has engage_date <= close_date",
        lambda df: ~_stage(df, *s.CLOSED_STAGES) | (df["close_date"] >= df["engage_date"]),
    ),
    _rule(
        "open deal has no close_date or close_value",
        lambda df: (
            ~_stage(df, *s.OPEN_STAGES) | (df["close_date"].isna() & df["close_value"].isna())
        ),
    ),
    _rule(
        "prospecting deal has no engage_date",
        lambda df: ~_stage(df, s.PROSPECTING) | df["engage_date"].isna(),
    ),
    _rule(
        "engaging deal has an engage_date",
        lambda df: ~_stage(df, s.ENGAGING) | df["engage_date"].notna(),
    ),
    _rule(
        "duplicate opportunity_id",
        lambda df: ~df["opportunity_id"].duplicated(keep="first"),
    ),
)


def _known(name: str, values: pd.Series) -> pa.Check:
    allowed = set(values.dropna())
    return pa.Check(lambda col: col.isin(allowed), name=name, error=name, ignore_na=True)


def pipeline_schema(
    accounts: pd.DataFrame | None, products: pd.DataFrame | None, teams: pd.DataFrame | None
) -> pa.DataFrameSchema:
    """The sales_pipeline schema; references are checked against the given clean tables."""
    empty = pd.Series([], dtype=object)
    agent_ref = _known("unknown sales_agent", teams["sales_agent"] if teams is not None else empty)
    product_ref = _known("unknown product", products["product"] if products is not None else empty)
    account_ref = _known("unknown account", accounts["account"] if accounts is not None else empty)
    return pa.DataFrameSchema(
        {
            "opportunity_id": pa.Column(str, pa.Check.str_length(1, 64), nullable=False),
            "sales_agent": pa.Column(str, agent_ref, nullable=False),
            "product": pa.Column(str, product_ref, nullable=False),
            "account": pa.Column(str, account_ref, nullable=True),
            "deal_stage": pa.Column(str, pa.Check.isin(s.STAGES), nullable=False),
            "engage_date": pa.Column("datetime64[ns]", nullable=True),
            "close_date": pa.Column("datetime64[ns]", nullable=True),
            "close_value": pa.Column(float, pa.Check.ge(0), nullable=True),
        },
        checks=list(BUSINESS_RULES),
        strict=False,
    )


ACCOUNTS_SCHEMA = pa.DataFrameSchema(
    {
        "account": pa.Column(str, unique=False, nullable=False),
        "sector": pa.Column(str, pa.Check.isin(s.SECTORS), nullable=False),
        "year_established": pa.Column(float, pa.Check.in_range(1800, 2100), nullable=False),
        "revenue": pa.Column(float, pa.Check.ge(0), nullable=False),
        "employees": pa.Column(float, pa.Check.ge(0), nullable=False),
        "office_location": pa.Column(str, nullable=False),
        "subsidiary_of": pa.Column(str, nullable=True),
    },
    checks=[_rule("duplicate account", lambda df: ~df["account"].duplicated(keep="first"))],
)

PRODUCTS_SCHEMA = pa.DataFrameSchema(
    {
        "product": pa.Column(str, nullable=False),
        "series": pa.Column(str, pa.Check.isin(s.SERIES), nullable=False),
        "sales_price": pa.Column(float, pa.Check.gt(0), nullable=False),
    },
    checks=[_rule("duplicate product", lambda df: ~df["product"].duplicated(keep="first"))],
)

TEAMS_SCHEMA = pa.DataFrameSchema(
    {
        "sales_agent": pa.Column(str, nullable=False),
        "manager": pa.Column(str, nullable=False),
        "regional_office": pa.Column(str, pa.Check.isin(s.OFFICES), nullable=False),
    },
    checks=[_rule("duplicate sales_agent", lambda df: ~df["sales_agent"].duplicated(keep="first"))],
)

REFERENCE_SCHEMAS = {
    s.ACCOUNTS: ACCOUNTS_SCHEMA,
    s.PRODUCTS: PRODUCTS_SCHEMA,
    s.TEAMS: TEAMS_SCHEMA,
}
