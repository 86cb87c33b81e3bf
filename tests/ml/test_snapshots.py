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


def test_final_snapshot_is_the_data(tables) -> None:
    final = snapshot(tables.deals, month_end(latest_month(tables.deals)))
    pd.testing.assert_frame_equal(final, tables.deals.reset_index(drop=True))


def test_a_snapshot_is_the_same_from_data_recorded_later_in_any_order(tables) -> None:
    """A month's training data does not change when a later export, with more deals,
    later outcomes and rows in another order, is snapshotted at the same month-end."""
    as_of = month_end("2017-05")
    then = snapshot(tables.deals, as_of)
    known_in_august = snapshot(tables.deals, month_end("2017-08"))
    reordered = known_in_august.sample(frac=1.0, random_state=3)

    def by_id(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values("opportunity_id").reset_index(drop=True)

    assert len(known_in_august) > len(then)  # the later export does hold more
    pd.testing.assert_frame_equal(by_id(snapshot(reordered, as_of)), by_id(then))


def test_a_snapshot_of_a_few_deals_by_hand() -> None:
    day = pd.Timestamp
    deals = pd.DataFrame(
        {
            "opportunity_id": ["won-early", "won-later", "lost-later", "engaged-later", "open"],
            "deal_stage": [s.WON, s.WON, s.LOST, s.ENGAGING, s.PROSPECTING],
            "engage_date": [day("2017-01-05"), day("2017-02-10"), day("2017-02-27"),
                            day("2017-03-02"), pd.NaT],
            "close_date": [day("2017-02-20"), day("2017-03-15"), day("2017-04-01"),
                           pd.NaT, pd.NaT],
            "close_value": [100.0, 200.0, 0.0, float("nan"), float("nan")],
        }
    )  # fmt: skip
    snap = snapshot(deals, month_end("2017-02"))
    assert snap["opportunity_id"].tolist() == ["won-early", "won-later", "lost-later"]
    assert snap["deal_stage"].tolist() == [s.WON, s.ENGAGING, s.ENGAGING]
    assert (
        snap["close_date"].iloc[0] == day("2017-02-20") and snap["close_date"].iloc[1:].isna().all()
    )
    assert snap["close_value"].iloc[0] == 100.0 and snap["close_value"].iloc[1:].isna().all()
    # on the last known date the prospect appears, and every outcome is as recorded
    assert (
        snapshot(deals, month_end("2017-04"))["opportunity_id"].tolist()
        == deals["opportunity_id"].tolist()
    )


@pytest.mark.parametrize("bad", ["2017-6", "June", "2017-13", ""])
def test_malformed_month_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_end(bad)
