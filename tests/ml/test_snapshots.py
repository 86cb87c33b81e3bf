"""Month-end snapshots show the pipeline as it was known then, reproducibly."""

from __future__ import annotations

import pandas as pd
import pytest

from ml.data import schema as s
from ml.snapshots import latest_month, month_end, snapshot


def test_deal_closed_later_appears_open(tables) -> None:
    deals = tables.deals
    as_of = month_end("2017-06")
    later = deals[(deals["close_date"] > as_of) & (deals["engage_date"] <= as_of)]
    snap = snapshot(deals, as_of).set_index("opportunity_id")
    seen = snap.loc[later["opportunity_id"]]
    assert (seen["deal_stage"] == s.ENGAGING).all()
    assert seen["close_date"].isna().all() and seen["close_value"].isna().all()


def test_nothing_after_the_date_is_visible(tables) -> None:
    as_of = month_end("2017-04")
    snap = snapshot(tables.deals, as_of)
    assert (snap["engage_date"] <= as_of).all()
    assert not (snap["close_date"] > as_of).any()
    assert not (snap["deal_stage"] == s.PROSPECTING).any()


def test_final_snapshot_is_the_data_and_snapshots_repeat(tables) -> None:
    final = snapshot(tables.deals, month_end(latest_month(tables.deals)))
    assert len(final) == len(tables.deals)
    as_of = month_end("2017-08")
    pd.testing.assert_frame_equal(snapshot(tables.deals, as_of), snapshot(tables.deals, as_of))


@pytest.mark.parametrize("bad", ["2017-6", "June", "2017-13", ""])
def test_malformed_month_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_end(bad)
