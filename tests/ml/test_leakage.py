"""Features use only what was known on the as-of date.

The transformer's lookup tables are fitted from the data as known at training
time; the tests show its output for an as-of date does not depend on anything
after that date. (The encoders and the model are fitted on training rows like
any model parameter; they are not features of the future.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.data import schema as s
from ml.features import INPUT_COLUMNS, CrmTables, PointInTimeFeatures
from ml.features.rows import labelled_rows
from ml.snapshots import month_end, month_ends, snapshot

AS_OF = [month_end("2017-05"), month_end("2017-08")]


def _features(tables: CrmTables, deals: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    fitted = PointInTimeFeatures().fit(
        tables=CrmTables(deals, tables.accounts, tables.products, tables.teams)
    )
    return fitted.transform(rows[list(INPUT_COLUMNS)])


@pytest.mark.parametrize("as_of", AS_OF)
def test_deleting_everything_after_the_as_of_date_changes_nothing(tables, as_of) -> None:
    rows = labelled_rows(tables.deals, [as_of], tables.deals["close_date"].max())
    full = _features(tables, tables.deals, rows)
    known = snapshot(tables.deals, as_of)  # later deals deleted, later outcomes erased
    pd.testing.assert_frame_equal(full, _features(tables, known, rows))


@pytest.mark.parametrize("as_of", AS_OF)
def test_shuffling_future_labels_changes_nothing(tables, as_of) -> None:
    rows = labelled_rows(tables.deals, [as_of], tables.deals["close_date"].max())
    shuffled = tables.deals.copy()
    future = shuffled.index[shuffled["close_date"] > as_of]
    rng = np.random.default_rng(0)
    shuffled.loc[future, "deal_stage"] = rng.permutation(shuffled.loc[future, "deal_stage"])
    pd.testing.assert_frame_equal(
        _features(tables, tables.deals, rows), _features(tables, shuffled, rows)
    )


def test_history_counts_only_deals_closed_by_the_as_of_date(tables) -> None:
    as_of = AS_OF[1]
    rows = labelled_rows(tables.deals, [as_of], tables.deals["close_date"].max())
    features = _features(tables, tables.deals, rows)
    closed = tables.deals[tables.deals["deal_stage"].isin(s.CLOSED_STAGES)]
    expected = (closed["close_date"] <= as_of).sum()
    assert np.expm1(features["log_hist_global_n"]).round().eq(expected).all()


def test_no_feature_matches_the_label(tables) -> None:
    rows = labelled_rows(
        tables.deals, month_ends(tables.deals)[:-1], tables.deals["close_date"].max()
    )
    features = _features(tables, tables.deals, rows)
    numeric = features.select_dtypes("number")
    numeric = numeric.loc[:, numeric.std() > 0]
    correlation = numeric.corrwith(rows["won"]).abs().fillna(0)
    assert correlation.max() < 0.5, correlation.sort_values().tail(3)


def test_the_deal_own_outcome_fields_are_not_inputs(tables) -> None:
    assert not {"close_date", "close_value", "won"} & set(INPUT_COLUMNS)
    fitted = PointInTimeFeatures().fit(tables=tables)
    rows = labelled_rows(tables.deals, AS_OF, tables.deals["close_date"].max())
    assert "won" in rows.columns  # the label travels with the rows
    # the transformer itself gets the outcome columns, with values far from the truth
    leaky = rows.assign(close_value=1e9, close_date=pd.Timestamp("2030-01-01"), won=1 - rows["won"])
    pd.testing.assert_frame_equal(
        fitted.transform(rows[list(INPUT_COLUMNS)]), fitted.transform(leaky)
    )


def test_missing_input_column_is_named(tables) -> None:
    fitted = PointInTimeFeatures().fit(tables=tables)
    rows = labelled_rows(tables.deals, AS_OF, tables.deals["close_date"].max())
    with pytest.raises(ValueError, match="as_of_date"):
        fitted.transform(rows.drop(columns=["as_of_date"]))
